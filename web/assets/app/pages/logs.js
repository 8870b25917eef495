// The action log: what the enforcer and operators did, filtered by guest, rule, action,
// result and time; the filters live in the URL.
import { defineComponent, h, reactive } from 'vue';
import { ElTable, ElTableColumn, ElInput, ElSelect, ElOption, ElButton } from 'element-plus';
import { useI18n } from 'vue-i18n';
import { get, useData } from '../api.js';
import { time } from '../format.js';
import { navigate } from '../shell.js';
import { card, loaded, rangeParams, rangePicker, stateTag } from '../ui.js';

const PRESETS = ['24h', '7d', '30d', 'month', 'last_month'];
const ACTIONS = ['throttle', 'disconnect', 'restore', 'release'];
const RESULTS = ['ok', 'failed', 'dry-run'];

export const Logs = defineComponent({
  name: 'Logs',
  props: { route: { type: Object, required: true } },
  setup(props) {
    const { t, locale } = useI18n();
    const q = () => props.route.query;
    const state = useData(async () => {
      const [entries, rules] = await Promise.all([
        get('/api/logs', { ...rangeParams(q(), '24h'), vmid: q().vmid, rule: q().rule, action: q().action, result: q().result }),
        get('/api/rules'),
      ]);
      return { entries, rules };
    }, q);
    const draft = reactive({ vmid: q().vmid || '' });
    const go = (changes) => navigate('logs', null, { ...q(), ...changes });
    const select = (key, options, test) => h(ElSelect, {
      modelValue: q()[key] || '', clearable: true, placeholder: t(`logs.${key}`), class: 'filter', 'data-test': test,
      'onUpdate:modelValue': (v) => go({ [key]: v }),
    }, () => [h(ElOption, { value: '', label: t('logs.any') }), ...options.map((o) => h(ElOption, { value: o, label: o }))]);
    return () => h('div', { 'data-test': 'page-logs' }, loaded(state, t, (d) => card(t('nav.logs'), [
      h('div', { class: 'toolbar' }, [
        rangePicker(q(), PRESETS, '24h', t, (range) => go({ period: undefined, start: undefined, end: undefined, ...range })),
        h(ElInput, { modelValue: draft.vmid, 'onUpdate:modelValue': (v) => { draft.vmid = v; }, placeholder: t('logs.vmid'), class: 'filter', clearable: true, 'data-test': 'filter-vmid', onChange: () => go({ vmid: draft.vmid.trim() }) }),
        select('rule', d.rules.map((r) => r.name), 'filter-rule'),
        select('action', ACTIONS, 'filter-action'),
        select('result', RESULTS, 'filter-result'),
        h(ElButton, { onClick: () => go({ vmid: draft.vmid.trim() }) }, () => t('logs.filter')),
      ]),
      h(ElTable, { data: d.entries, emptyText: t('logs.empty'), 'data-test': 'log-table' }, () => [
        h(ElTableColumn, { label: t('logs.time'), width: 180 }, { default: ({ row }) => time(row.time_ms, locale.value) }),
        h(ElTableColumn, { label: t('logs.vmid'), width: 90 }, { default: ({ row }) => (row.vmid ? h('a', { href: `#/guest/${row.vmid}`, class: 'link' }, String(row.vmid)) : '–') }),
        h(ElTableColumn, { prop: 'rule', label: t('logs.rule') }),
        h(ElTableColumn, { prop: 'action', label: t('logs.action'), width: 110 }),
        h(ElTableColumn, { label: t('logs.result'), width: 100 }, { default: ({ row }) => stateTag(row.result, t) }),
        h(ElTableColumn, { prop: 'message', label: t('logs.message') }),
        h(ElTableColumn, { prop: 'actor', label: t('logs.actor'), width: 110 }),
      ]),
    ])));
  },
});
