// The web UI's entry: Vue with Element Plus and vue-i18n, mounted on the page. Written with
// render functions (no templates), because the runtime-only Vue build needs no `eval`, which
// the Content-Security-Policy forbids.
import { createApp, h } from 'vue';
import ElementPlus, { ElConfigProvider } from 'element-plus';
import { i18n, elementLocale } from './i18n.js';
import { loadSession } from './api.js';
import { Shell } from './shell.js';

const app = createApp({
  name: 'PveTraffic',
  render: () => h(ElConfigProvider, { locale: elementLocale.value }, () => h(Shell)),
});
app.use(ElementPlus);
app.use(i18n);
app.mount('#app');
loadSession();
