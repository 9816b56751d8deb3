// Search by case number, part of the applicant's name, or certificate number.
import { api, fromTemplate, h } from "../dom.js";
import { t } from "../i18n.js";
import { caseTable } from "../widgets.js";

export async function renderSearch(main, query = "") {
  const { fragment, slots } = fromTemplate("search");
  const form = fragment.querySelector("#search-form");
  const input = fragment.querySelector("#search-q");
  input.value = query;
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    location.hash = `#/search?q=${encodeURIComponent(input.value.trim())}`;
  });
  main.replaceChildren(fragment);
  document.querySelector("#quicksearch-q").value = query;
  if (!query) {
    input.focus();
    return;
  }
  const { ok, body } = await api("GET", `/api/cases?q=${encodeURIComponent(query)}&limit=200`);
  if (!ok) {
    slots.summary.textContent = body.message;
    return;
  }
  slots.summary.textContent = body.cases.length ? t("search.count", { n: body.cases.length }) : t("search.none");
  slots.results.replaceChildren(body.cases.length ? caseTable(body.cases) : h("span"));
  const first = slots.results.querySelector("a");
  (first || input).focus();
}
