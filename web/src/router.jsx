// A minimal history-API router: the server answers index.html for every client
// route, so paths are real paths (/events, /attackers/<uuid>, ...).
import { useEffect, useState } from 'preact/hooks';

const listeners = new Set();

/** navigate goes to an in-app path (always starting with "/") without a reload. */
export function navigate(path, { replace = false } = {}) {
  if (typeof path !== 'string' || !path.startsWith('/') || path.startsWith('//')) return;
  if (replace) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  listeners.forEach((fn) => fn(location.pathname));
  window.scrollTo(0, 0);
}

window.addEventListener('popstate', () => listeners.forEach((fn) => fn(location.pathname)));

/** usePath returns the current pathname and re-renders on navigation. */
export function usePath() {
  const [path, setPath] = useState(location.pathname);
  useEffect(() => {
    listeners.add(setPath);
    return () => listeners.delete(setPath);
  }, []);
  return path;
}

/** Link is an in-app link: a real href for middle-click, a pushState on click. */
export function Link({ to, children, class: cls, ...rest }) {
  return (
    <a
      href={to}
      class={cls}
      {...rest}
      onClick={(e) => {
        if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
        e.preventDefault();
        navigate(to);
      }}
    >
      {children}
    </a>
  );
}
