// Pieces the pages share: a loading/error frame, cards and figures, state tags, and the range
// picker (presets or a custom start and end) that keeps its choice in the page's URL.
import { h } from 'vue';
import { ElCard, ElSkeleton, ElAlert, ElTag, ElRadioGroup, ElRadioButton, ElDatePicker } from 'element-plus';

/** `render(data)` once `state` has loaded, a skeleton before, the error if it failed. */
export function loaded(state, t, render) {
  if (state.error.value) return h(ElAlert, { type: 'error', title: t('app.error', { error: state.error.value }), closable: false, 'data-test': 'error' });
  if (state.loading.value && state.data.value === null) return h(ElSkeleton, { rows: 4, animated: true });
  return render(state.data.value);
}

/** A card with a header. */
export const card = (title, body, attrs = {}) => h(ElCard, { shadow: 'never', class: 'card', ...attrs }, { header: () => h('span', title), default: () => body });

/** A labelled figure. */
export const figure = (label, value, test) => h('div', { class: 'figure' }, [h('div', { class: 'label' }, label), h('div', { class: 'value', 'data-test': test }, value)]);

const TAG_TYPES = { ok: 'success', enforced: 'danger', released: 'warning', degraded: 'warning', down: 'danger', unknown: 'info', failed: 'danger' };

/** A coloured tag for a state (`ok`, `enforced`, …), translated when the catalogue knows it. */
export function stateTag(state, t) {
  const known = ['ok', 'degraded', 'down', 'unknown', 'enforced', 'released'].includes(state);
  return h(ElTag, { type: TAG_TYPES[state] || 'info', size: 'small', disableTransitions: true }, () => (known ? t(`states.${state}`) : state));
}

/**
 * Preset buttons and a custom range picker. `query` holds `period` or `start`/`end` (epoch
 * seconds), `fallback` is the period shown when it holds neither; `change(query)` is called
 * with the new choice.
 */
export function rangePicker(query, presets, fallback, t, change) {
  const custom = query.start ? [new Date(Number(query.start) * 1000), new Date(Number(query.end || Date.now() / 1000) * 1000)] : null;
  return h('div', { class: 'range' }, [
    h(ElRadioGroup, { modelValue: query.start ? '' : query.period || fallback, size: 'small', 'onUpdate:modelValue': (period) => change({ period }) },
      () => presets.map((p) => h(ElRadioButton, { value: p, 'data-test': `preset-${p}` }, () => t(`presets.${p}`)))),
    h(ElDatePicker, {
      modelValue: custom,
      type: 'datetimerange',
      size: 'small',
      startPlaceholder: t('guest.start'),
      endPlaceholder: t('guest.end'),
      'data-test': 'custom-range',
      'onUpdate:modelValue': (v) => change(v ? { start: Math.floor(v[0] / 1000), end: Math.floor(v[1] / 1000) } : {}),
    }),
  ]);
}

/** A colour for a quota bar at `p` percent: green, orange from 80 %, red from 100 %. */
export const quotaColour = (p) => (p >= 100 ? 'var(--el-color-danger)' : p >= 80 ? 'var(--el-color-warning)' : 'var(--el-color-success)');

/** The API's range parameters for a page query. */
export const rangeParams = (query, fallback) => (query.start ? { start: query.start, end: query.end } : { period: query.period || fallback });
