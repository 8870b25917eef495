// The frame around every page: navigation, language and theme switches, who is signed in;
// and the hash router, so every page (with its filters) has a URL that can be bookmarked.
import { defineComponent, h, reactive, computed } from 'vue';
import { ElMenu, ElMenuItem, ElSelect, ElOption, ElSwitch, ElTag, ElAlert } from 'element-plus';
import { useI18n } from 'vue-i18n';
import { auth } from './api.js';
import { LOCALES, locale, setLocale } from './i18n.js';
import { dark, setDark } from './theme.js';
import { TokenDialog } from './token-dialog.js';
import { Overview } from './pages/overview.js';
import { Guests } from './pages/guests.js';
import { GuestPage } from './pages/guest.js';
import { Rules } from './pages/rules.js';
import { Logs } from './pages/logs.js';
import { Health } from './pages/health.js';

const PAGES = { '': Overview, guests: Guests, guest: GuestPage, rules: Rules, logs: Logs, health: Health };
const MENU = ['', 'guests', 'rules', 'logs', 'health'];
const MENU_KEYS = { '': 'overview', guests: 'guests', rules: 'rules', logs: 'logs', health: 'health' };

/** The current route: `#/page/param?query`. */
export const route = reactive(parse());

function parse() {
  const [path, search] = location.hash.replace(/^#\/?/, '').split('?');
  const [page, param] = path.split('/');
  return { page: page || '', param: param || null, query: Object.fromEntries(new URLSearchParams(search || '')) };
}

window.addEventListener('hashchange', () => Object.assign(route, parse()));

/** Goes to `page` (with `param` and `query`), adding a history entry. */
export function navigate(page, param = null, query = {}) {
  const clean = Object.fromEntries(Object.entries(query).filter(([, v]) => v !== undefined && v !== null && v !== ''));
  const search = new URLSearchParams(clean).toString();
  location.hash = `#/${page}${param ? `/${param}` : ''}${search ? `?${search}` : ''}`;
}

export const Shell = defineComponent({
  name: 'Shell',
  setup() {
    const { t } = useI18n();
    const active = computed(() => (route.page === 'guest' ? 'guests' : route.page));
    const header = () => h('header', { class: 'top' }, [
      h('a', { class: 'brand', href: '#/' }, t('app.title')),
      h(ElMenu, { mode: 'horizontal', ellipsis: false, defaultActive: active.value, class: 'nav', onSelect: (key) => navigate(key) },
        () => MENU.map((page) => h(ElMenuItem, { index: page, 'data-test': `nav-${MENU_KEYS[page]}` }, () => t(`nav.${MENU_KEYS[page]}`)))),
      h('div', { class: 'tools' }, [
        auth.session ? h(ElTag, { type: auth.session.role === 'operator' ? 'warning' : 'info', 'data-test': 'session' }, () => `${auth.session.name} · ${auth.session.role}`) : null,
        h(ElSelect, { modelValue: locale.value, 'onUpdate:modelValue': setLocale, class: 'lang', 'data-test': 'language', ariaLabel: t('app.language') },
          () => LOCALES.map((l) => h(ElOption, { value: l.code, label: l.label }))),
        h(ElSwitch, { modelValue: dark.value, 'onUpdate:modelValue': setDark, activeText: t('app.dark'), inactiveText: t('app.light'), 'data-test': 'theme' }),
      ]),
    ]);
    return () => h('div', { class: 'shell' }, [
      header(),
      auth.session?.loopback_only ? h(ElAlert, { type: 'info', title: t('app.loopbackOnly'), closable: false, class: 'banner' }) : null,
      h('main', { class: 'page' }, [h(PAGES[route.page] || Overview, { key: `${route.page}/${route.param}`, route })]),
      h(TokenDialog),
    ]);
  },
});
