// One guest: its traffic history (presets or a custom range, in the URL), each rule's use
// against its limit with the projection, the penalty with a release button for operators,
// and the export command's files for the range shown.
import { defineComponent, h, computed } from 'vue';
import { ElRow, ElCol, ElProgress, ElButton, ElButtonGroup, ElMessageBox, ElMessage, ElTag, ElDescriptions, ElDescriptionsItem } from 'element-plus';
import { useI18n } from 'vue-i18n';
import { auth, download, get, post, useData } from '../api.js';
import { bytes, percent, time } from '../format.js';
import { navigate } from '../shell.js';
import { Chart } from '../chart.js';
import { card, loaded, quotaColour, rangeParams, rangePicker, stateTag } from '../ui.js';

const PRESETS = ['1h', '24h', '7d', '30d', 'month'];
const FORMATS = ['html', 'png', 'svg', 'json', 'csv'];

function historyOption(history, t, locale) {
  const at = history.points.map((p) => new Date(p.time_ms).toLocaleString(locale, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' }));
  const series = (name, key) => ({ name, type: 'line', smooth: true, showSymbol: false, areaStyle: { opacity: 0.15 }, data: history.points.map((p) => p[key]) });
  return {
    backgroundColor: 'transparent',
    // A new range replaces the old series at once instead of morphing one into the other.
    animation: false,
    tooltip: { trigger: 'axis', valueFormatter: bytes },
    legend: { data: [t('traffic.rx'), t('traffic.tx')] },
    grid: { left: 70, right: 20, top: 40, bottom: 30 },
    xAxis: { type: 'category', data: at },
    yAxis: { type: 'value', axisLabel: { formatter: bytes } },
    series: [series(t('traffic.rx'), 'rx_bytes'), series(t('traffic.tx'), 'tx_bytes')],
  };
}

export const GuestPage = defineComponent({
  name: 'GuestPage',
  props: { route: { type: Object, required: true } },
  setup(props) {
    const { t, locale } = useI18n();
    const vmid = props.route.param;
    const q = () => props.route.query;
    const detail = useData(() => get(`/api/vm/${vmid}`));
    const history = useData(() => get(`/api/history/${vmid}`, rangeParams(q(), '24h')), q);
    const option = computed(() => (history.data.value ? historyOption(history.data.value, t, locale.value) : null));
    const operator = computed(() => auth.session?.role === 'operator');

    const release = async () => {
      let reason;
      try {
        ({ value: reason } = await ElMessageBox.prompt(t('guest.releaseReason'), t('guest.releaseTitle', { vmid }), {
          inputValidator: (v) => Boolean(v && v.trim()),
          customClass: 'release-box',
        }));
      } catch {
        return;
      }
      try {
        await post(`/api/guests/${vmid}/release`, { reason });
        ElMessage.success(t('guest.released'));
        detail.load();
      } catch (e) {
        ElMessage.error(e.message);
      }
    };
    const exportFile = async (format) => {
      try {
        await download({ vm: vmid, format, ...rangeParams(q(), '24h') });
      } catch (e) {
        ElMessage.error(e.message);
      }
    };

    const quota = (row) => h('div', { class: 'quota', 'data-test': `quota-${row.rule}` }, [
      h('div', { class: 'quota-head' }, [h('strong', row.rule), stateTag(row.state, t)]),
      h(ElProgress, { percentage: Math.min(100, row.percent), color: quotaColour(row.percent), format: () => percent(row.percent) }),
      h('div', { class: 'muted' }, `${t('guest.used')} ${bytes(row.used_bytes)} / ${t('guest.limit')} ${bytes(row.limit_bytes)} · ${t('guest.projected')} ${bytes(row.projected_bytes)} · ${t('guest.periodEnd')} ${time(row.period_end_ms, locale.value)}`),
    ]);
    const penalty = (d) => card(t('guest.enforcement'), d.enforcement
      ? [
        h(ElDescriptions, { column: 1, border: true }, () => [
          h(ElDescriptionsItem, { label: t('guest.rule') }, () => d.enforcement.rule),
          h(ElDescriptionsItem, { label: t('guest.enforcement') }, () => d.enforcement.action),
          h(ElDescriptionsItem, { label: t('guest.since') }, () => time(d.enforcement.since_ms, locale.value)),
          h(ElDescriptionsItem, { label: t('guest.until') }, () => time(d.enforcement.until_ms, locale.value)),
        ]),
        operator.value ? h(ElButton, { type: 'danger', class: 'gap', onClick: release, 'data-test': 'release' }, () => t('guest.release')) : null,
      ]
      : h('p', { class: 'muted', 'data-test': 'not-enforced' }, t('guest.notEnforced')));

    return () => h('div', { 'data-test': 'page-guest' }, loaded(detail, t, (d) => [
      h('h2', { class: 'title' }, [`${d.guest.vmid} · ${d.guest.name} `, h(ElTag, { size: 'small', disableTransitions: true }, () => d.guest.node), ' ',
        ...d.guest.tags.map((tag) => h(ElTag, { size: 'small', effect: 'plain', disableTransitions: true }, () => tag))]),
      card(t('guest.history'), [
        h('div', { class: 'toolbar' }, [
          rangePicker(q(), PRESETS, '24h', t, (range) => navigate('guest', vmid, range)),
          h(ElButtonGroup, { class: 'exports' }, () => FORMATS.map((f) => h(ElButton, { size: 'small', onClick: () => exportFile(f), 'data-test': `export-${f}` }, () => `${t('guest.export')} ${f.toUpperCase()}`))),
        ]),
        loaded(history, t, () => h(Chart, { option: option.value, 'data-test': 'history-chart' })),
      ]),
      h(ElRow, { gutter: 16 }, () => [
        h(ElCol, { span: 14, xs: 24 }, () => card(t('guest.quotas'), d.quotas.length ? d.quotas.map(quota) : h('p', { class: 'muted' }, t('app.none')))),
        h(ElCol, { span: 10, xs: 24 }, () => penalty(d)),
      ]),
    ]));
  },
});
