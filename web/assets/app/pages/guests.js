// Every guest in a virtualised table (thousands of rows stay smooth): search and sort, both
// kept in the URL, quota bars, and a click through to the guest.
import { defineComponent, h, computed, ref } from 'vue';
import { ElTableV2, ElAutoResizer, ElInput, ElTag, ElProgress, TableV2SortOrder } from 'element-plus';
import { useI18n } from 'vue-i18n';
import { get, useData } from '../api.js';
import { bytes, rate } from '../format.js';
import { navigate } from '../shell.js';
import { card, loaded, quotaColour } from '../ui.js';

const SORT_VALUES = {
  vmid: (g) => g.vmid,
  name: (g) => g.name.toLowerCase(),
  node: (g) => g.node,
  month_rx_bytes: (g) => g.month_rx_bytes,
  month_tx_bytes: (g) => g.month_tx_bytes,
  rate: (g) => g.rx_rate + g.tx_rate,
  quota_percent: (g) => g.quota_percent ?? -1,
};

function matches(guest, needle) {
  if (!needle) return true;
  const text = `${guest.vmid} ${guest.name} ${guest.node} ${guest.tags.join(' ')}`.toLowerCase();
  return needle.toLowerCase().split(/\s+/).every((word) => text.includes(word));
}

export const Guests = defineComponent({
  name: 'Guests',
  props: { route: { type: Object, required: true } },
  setup(props) {
    const { t } = useI18n();
    const state = useData(() => get('/api/vms'));
    const search = ref(props.route.query.q || '');
    const sortBy = computed(() => ({
      key: props.route.query.sort || 'vmid',
      order: props.route.query.order === 'desc' ? TableV2SortOrder.DESC : TableV2SortOrder.ASC,
    }));
    const setQuery = (changes) => navigate('guests', null, { q: search.value, sort: sortBy.value.key, order: sortBy.value.order, ...changes });
    const rows = computed(() => {
      const value = SORT_VALUES[sortBy.value.key] || SORT_VALUES.vmid;
      const sign = sortBy.value.order === TableV2SortOrder.DESC ? -1 : 1;
      return (state.data.value || [])
        .filter((g) => matches(g, props.route.query.q))
        .sort((a, b) => (value(a) < value(b) ? -sign : value(a) > value(b) ? sign : 0));
    });
    const link = (guest, text) => h('a', { href: `#/guest/${guest.vmid}`, class: 'link' }, text);
    const columns = computed(() => [
      { key: 'vmid', dataKey: 'vmid', title: t('guests.vmid'), width: 90, sortable: true, cellRenderer: ({ rowData }) => link(rowData, String(rowData.vmid)) },
      { key: 'name', dataKey: 'name', title: t('guests.name'), width: 170, sortable: true, cellRenderer: ({ rowData }) => link(rowData, rowData.name) },
      { key: 'node', dataKey: 'node', title: t('guests.node'), width: 90, sortable: true },
      { key: 'kind', dataKey: 'kind', title: t('guests.kind'), width: 70 },
      { key: 'tags', dataKey: 'tags', title: t('guests.tags'), width: 150, cellRenderer: ({ rowData }) => h('div', { class: 'tags' }, rowData.tags.map((tag) => h(ElTag, { size: 'small', effect: 'plain', disableTransitions: true }, () => tag))) },
      { key: 'month_rx_bytes', dataKey: 'month_rx_bytes', title: t('guests.monthRx'), width: 130, sortable: true, align: 'right', cellRenderer: ({ rowData }) => bytes(rowData.month_rx_bytes) },
      { key: 'month_tx_bytes', dataKey: 'month_tx_bytes', title: t('guests.monthTx'), width: 130, sortable: true, align: 'right', cellRenderer: ({ rowData }) => bytes(rowData.month_tx_bytes) },
      { key: 'rate', dataKey: 'rx_rate', title: t('guests.rate'), width: 130, sortable: true, align: 'right', cellRenderer: ({ rowData }) => rate(rowData.rx_rate + rowData.tx_rate) },
      { key: 'quota_percent', dataKey: 'quota_percent', title: t('guests.quota'), width: 190, sortable: true, cellRenderer: ({ rowData }) => (rowData.quota_percent === null ? '–'
        : h(ElProgress, { percentage: Math.min(100, rowData.quota_percent), color: quotaColour(rowData.quota_percent), format: () => `${rowData.quota_percent.toFixed(0)} %`, class: 'bar' })) },
      { key: 'enforced', dataKey: 'enforced', title: t('guests.enforced'), width: 110, cellRenderer: ({ rowData }) => (rowData.enforced ? h(ElTag, { type: 'danger', size: 'small', disableTransitions: true }, () => t('states.enforced')) : '') },
    ]);
    const table = () => h('div', { class: 'table-box', 'data-test': 'guests-table' }, h(ElAutoResizer, null, {
      default: ({ width, height }) => h(ElTableV2, {
        columns: columns.value,
        data: rows.value,
        width,
        height,
        rowKey: 'vmid',
        fixed: true,
        sortBy: sortBy.value,
        onColumnSort: ({ key, order }) => setQuery({ sort: key, order }),
      }),
    }));
    return () => h('div', { 'data-test': 'page-guests' }, loaded(state, t, (all) => card(t('nav.guests'), [
      h('div', { class: 'toolbar' }, [
        h(ElInput, {
          modelValue: search.value,
          'onUpdate:modelValue': (v) => { search.value = v; setQuery({ q: v }); },
          placeholder: t('guests.search'),
          clearable: true,
          class: 'search',
          'data-test': 'search',
        }),
        h('span', { class: 'muted', 'data-test': 'guest-count' }, t('guests.count', { shown: rows.value.length, total: all.length })),
      ]),
      table(),
    ])));
  },
});
