// The exporter's and the enforcer's state: last cycle, version, last error.
import { defineComponent, h } from 'vue';
import { ElRow, ElCol, ElDescriptions, ElDescriptionsItem } from 'element-plus';
import { useI18n } from 'vue-i18n';
import { get, useData } from '../api.js';
import { rate, time } from '../format.js';
import { card, figure, loaded, stateTag } from '../ui.js';

export const Health = defineComponent({
  name: 'Health',
  setup() {
    const { t, locale } = useI18n();
    const state = useData(() => get('/api/system/stats'));
    const component = (title, c, test) => card(title, h(ElDescriptions, { column: 1, border: true, 'data-test': test }, () => [
      h(ElDescriptionsItem, { label: t('health.state') }, () => stateTag(c.state, t)),
      h(ElDescriptionsItem, { label: t('health.version') }, () => c.version || '–'),
      h(ElDescriptionsItem, { label: t('health.lastCycle') }, () => (c.last_cycle_ms ? time(c.last_cycle_ms, locale.value) : t('health.never'))),
      h(ElDescriptionsItem, { label: t('health.lastError') }, () => c.last_error || t('app.none')),
    ]));
    return () => h('div', { 'data-test': 'page-health' }, loaded(state, t, (s) => [
      h(ElRow, { gutter: 16 }, () => [
        h(ElCol, { span: 12, xs: 24 }, () => component(t('health.exporter'), s.exporter, 'exporter')),
        h(ElCol, { span: 12, xs: 24 }, () => component(t('health.enforcer'), s.enforcer, 'enforcer')),
      ]),
      card(t('overview.rates'), h('div', { class: 'figures' }, [
        figure(t('overview.guests'), String(s.guests)),
        figure(t('overview.nodes'), String(s.nodes)),
        figure(t('traffic.rxRate'), rate(s.rx_rate)),
        figure(t('traffic.txRate'), rate(s.tx_rate)),
      ])),
    ]));
  },
});
