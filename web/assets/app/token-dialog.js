// Asks for an API token when the server answers 401; the token is kept for this tab only.
import { defineComponent, h, ref } from 'vue';
import { ElDialog, ElInput, ElButton, ElAlert } from 'element-plus';
import { useI18n } from 'vue-i18n';
import { auth, useToken } from './api.js';

export const TokenDialog = defineComponent({
  name: 'TokenDialog',
  setup() {
    const { t } = useI18n();
    const token = ref('');
    const empty = ref(false);
    const save = () => {
      const value = token.value.trim();
      empty.value = value === '';
      if (empty.value) return;
      token.value = '';
      useToken(value);
    };
    return () => h(ElDialog, {
      modelValue: auth.needed,
      title: t('token.title'),
      width: '420px',
      closeOnClickModal: false,
      showClose: false,
      class: 'token-dialog',
    }, {
      default: () => [
        h('p', t('token.explain')),
        h(ElInput, {
          modelValue: token.value,
          'onUpdate:modelValue': (v) => { token.value = v; },
          type: 'password',
          showPassword: true,
          placeholder: t('token.placeholder'),
          id: 'token-input',
          onKeyup: (e) => { if (e.key === 'Enter') save(); },
        }),
        empty.value ? h(ElAlert, { type: 'error', title: t('token.invalid'), closable: false, class: 'gap' }) : null,
      ],
      footer: () => h(ElButton, { type: 'primary', onClick: save, id: 'token-save' }, () => t('token.save')),
    });
  },
});
