// An ECharts chart as a Vue component: redrawn when its option or the theme changes, resized
// with its box, disposed with the component.
import { defineComponent, h, onMounted, onBeforeUnmount, ref, watch } from 'vue';
import * as echarts from 'echarts';
import { dark } from './theme.js';

export const Chart = defineComponent({
  name: 'Chart',
  props: { option: { type: Object, required: true }, height: { type: String, default: '320px' } },
  setup(props) {
    const el = ref(null);
    let chart = null;
    const draw = () => {
      chart?.dispose();
      chart = echarts.init(el.value, dark.value ? 'dark' : null, { renderer: 'canvas' });
      chart.setOption({ backgroundColor: 'transparent', ...props.option });
    };
    const resize = () => chart?.resize();
    let observer = null;
    onMounted(() => {
      draw();
      observer = new ResizeObserver(resize);
      observer.observe(el.value);
    });
    watch(() => props.option, () => chart?.setOption(props.option, true));
    watch(dark, draw);
    onBeforeUnmount(() => {
      observer?.disconnect();
      chart?.dispose();
    });
    return () => h('div', { ref: el, class: 'chart', style: { height: props.height } });
  },
});
