// zh-CN and en-US: our catalogues (locales/*.json) for vue-i18n, Element Plus' own for its
// components; the choice is remembered, and the first visit follows the browser's language.
import { computed } from 'vue';
import { createI18n } from 'vue-i18n';
import en from 'element-plus/locale/en';
import zhCn from 'element-plus/locale/zh-cn';

const KEY = 'pve-traffic-locale';
export const LOCALES = [
  { code: 'en-US', label: 'English' },
  { code: 'zh-CN', label: '中文' },
];

async function catalogue(code) {
  const response = await fetch(`/assets/app/locales/${code}.json`);
  return response.json();
}

const [enUS, zhCN] = await Promise.all([catalogue('en-US'), catalogue('zh-CN')]);
const remembered = localStorage.getItem(KEY);
const initial = remembered || (navigator.language.toLowerCase().startsWith('zh') ? 'zh-CN' : 'en-US');

export const i18n = createI18n({
  legacy: false,
  locale: initial,
  fallbackLocale: 'en-US',
  messages: { 'en-US': enUS, 'zh-CN': zhCN },
});

/** The current locale code. */
export const locale = i18n.global.locale;

/** Switches the language and remembers it. */
export function setLocale(code) {
  locale.value = code;
  localStorage.setItem(KEY, code);
  document.documentElement.lang = code;
}

/** Element Plus' messages for the current locale. */
export const elementLocale = computed(() => (locale.value === 'zh-CN' ? zhCn : en));

document.documentElement.lang = initial;
