/** In-app navigation: the URL changes without a reload, and every listener of popstate redraws. */
export function navigate(href: string) {
  history.pushState(null, "", href);
  dispatchEvent(new PopStateEvent("popstate"));
}

/** A link's click, kept in the app (a modified click still opens a new tab). */
export function follow(e: MouseEvent, href: string) {
  if (e.ctrlKey || e.metaKey || e.shiftKey || e.button !== 0) return;
  e.preventDefault();
  navigate(href);
}
