// Dark or light: follows the system until the toggle picks one, which is remembered.
import { ref, computed, watchEffect } from 'vue';

const KEY = 'pve-traffic-theme';
const query = window.matchMedia('(prefers-color-scheme: dark)');
const systemDark = ref(query.matches);
query.addEventListener('change', (e) => { systemDark.value = e.matches; });

/** `light`, `dark`, or null to follow the system. */
const chosen = ref(localStorage.getItem(KEY));

/** Whether the page is dark now. */
export const dark = computed(() => (chosen.value ? chosen.value === 'dark' : systemDark.value));

/** Picks dark (true) or light (false) from now on. */
export function setDark(on) {
  chosen.value = on ? 'dark' : 'light';
  localStorage.setItem(KEY, chosen.value);
}

watchEffect(() => {
  document.documentElement.classList.toggle('dark', dark.value);
});
