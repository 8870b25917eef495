// Cluster totals today and this month, rates now, top talkers, and the guests enforced now.
import { defineComponent, h } from 'vue';
import { ElTable, ElTableColumn, ElRow, ElCol, ElEmpty } from 'element-plus';
import { useI18n } from 'vue-i18n';
import { get, useData } from '../api.js';
import { bytes, rate, time } from '../format.js';
import { navigate } from '../shell.js';
import { card, figure, loaded } from '../ui.js';

async function overview() {
  const [today, month, system, enforced] = await Promise.all([
    get('/api/stats', { period: 'today' }),
    get('/api/stats', { period: 'month' }),
    get('/api/system/stats'),
    get('/api/enforcements'),
  ]);
  return { today, month, system, enforced };
}

export const Overview = defineComponent({
  name: 'Overview',
  setup() {
    const { t, locale } = useI18n();
    const state = useData(overview);
    const totals = (title, stats, test) => card(title, h('div', { class: 'figures' }, [
      figure(t('traffic.rx'), bytes(stats.rx_bytes), `${test}-rx`),
      figure(t('traffic.tx'), bytes(stats.tx_bytes), `${test}-tx`),
      figure(t('traffic.total'), bytes(stats.rx_bytes + stats.tx_bytes)),
    ]));
    const open = (row) => navigate('guest', row.vmid);
    return () => h('div', { 'data-test': 'page-overview' }, loaded(state, t, (d) => [
      h(ElRow, { gutter: 16 }, () => [
        h(ElCol, { span: 8, xs: 24 }, () => totals(t('overview.today'), d.today, 'today')),
        h(ElCol, { span: 8, xs: 24 }, () => totals(t('overview.month'), d.month, 'month')),
        h(ElCol, { span: 8, xs: 24 }, () => card(t('overview.rates'), h('div', { class: 'figures' }, [
          figure(t('traffic.rxRate'), rate(d.system.rx_rate)),
          figure(t('traffic.txRate'), rate(d.system.tx_rate)),
          figure(t('overview.guests'), String(d.system.guests), 'guest-count'),
        ]))),
      ]),
      h(ElRow, { gutter: 16 }, () => [
        h(ElCol, { span: 14, xs: 24 }, () => card(t('overview.top'), h(ElTable, { data: d.today.top, size: 'small', onRowClick: open, rowClassName: () => 'row-link', 'data-test': 'top' }, () => [
          h(ElTableColumn, { prop: 'vmid', label: t('guests.vmid'), width: 90 }),
          h(ElTableColumn, { prop: 'name', label: t('guests.name') }),
          h(ElTableColumn, { label: t('traffic.rx') }, { default: ({ row }) => bytes(row.rx_bytes) }),
          h(ElTableColumn, { label: t('traffic.tx') }, { default: ({ row }) => bytes(row.tx_bytes) }),
        ]))),
        h(ElCol, { span: 10, xs: 24 }, () => card(t('overview.enforced'), d.enforced.length === 0
          ? h(ElEmpty, { description: t('app.none'), imageSize: 60 })
          : h(ElTable, { data: d.enforced, size: 'small', onRowClick: open, rowClassName: () => 'row-link', 'data-test': 'enforced' }, () => [
            h(ElTableColumn, { prop: 'vmid', label: t('guests.vmid'), width: 80 }),
            h(ElTableColumn, { prop: 'name', label: t('guests.name') }),
            h(ElTableColumn, { prop: 'action', label: t('guest.enforcement') }),
            h(ElTableColumn, { label: t('guest.until') }, { default: ({ row }) => time(row.until_ms, locale.value) }),
          ]))),
      ]),
    ]));
  },
});
