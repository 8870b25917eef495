// The rules as the exporter has loaded them now.
import { defineComponent, h } from 'vue';
import { ElTable, ElTableColumn, ElTag } from 'element-plus';
import { useI18n } from 'vue-i18n';
import { get, useData } from '../api.js';
import { bytes } from '../format.js';
import { card, loaded } from '../ui.js';

export const Rules = defineComponent({
  name: 'Rules',
  setup() {
    const { t } = useI18n();
    const state = useData(() => get('/api/rules'));
    return () => h('div', { 'data-test': 'page-rules' }, loaded(state, t, (rules) => card(t('nav.rules'),
      h(ElTable, { data: rules, 'data-test': 'rules' }, () => [
        h(ElTableColumn, { prop: 'name', label: t('rules.name') }),
        h(ElTableColumn, { prop: 'applies_to', label: t('rules.appliesTo') }),
        h(ElTableColumn, { prop: 'period', label: t('rules.period'), width: 100 }),
        h(ElTableColumn, { prop: 'direction', label: t('rules.direction'), width: 100 }),
        h(ElTableColumn, { label: t('rules.limit') }, { default: ({ row }) => bytes(row.limit_bytes) }),
        h(ElTableColumn, { prop: 'action', label: t('rules.action') }),
        h(ElTableColumn, { label: t('rules.enabled'), width: 100 }, {
          default: ({ row }) => h(ElTag, { type: row.enabled ? 'success' : 'info', size: 'small' }, () => t(row.enabled ? 'rules.yes' : 'rules.no')),
        }),
      ]))));
  },
});
