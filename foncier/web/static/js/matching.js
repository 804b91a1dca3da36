// The search page (templates/matching/search.html), on top of what works without script:
// - the ranked plots as numbered markers on the map of map.js (window.foncierMap);
// - changing a weight asks POST /api/match again and redraws the list and the markers, and
//   puts the weights in the address, so that the page stays a link one can share;
// - « pourquoi pas ? » answers in place (POST /api/match/why/<id>), for an identifier typed
//   in the box or a plot clicked on the map.
// Settings come from the JSON script #recherche-config (no inline script: see the pages'
// Content-Security-Policy). The markup built here is that of templates/matching/_matching.html.
// The state is window.foncierMatching, which tests read.
import { element, frenchNumber, integer, pageUrl, plural } from "./common.js";

const config = JSON.parse(document.getElementById("recherche-config").textContent);
const TYPING_PAUSE_MS = 350;
const MONTHS = [
  "janvier", "février", "mars", "avril", "mai", "juin",
  "juillet", "août", "septembre", "octobre", "novembre", "décembre",
];
const state = {
  result: config.result,
  weights: null,
  updates: 0,
  whyNotAnswers: 0,
  markers: null,
  pending: null,
};
window.foncierMatching = state;

function link(href, text) {
  return element("a", { href }, [text]);
}

// --- French formatting, as foncier/web/formatting.py and matching/presenting.py ---------

function scoreText(value, decimals = 2) {
  return value.toFixed(decimals).replace(".", ",");
}

function weightText(weight) {
  return `${Math.round(weight * 100)}\u00a0%`;
}

function frenchDate(iso) {
  const [year, month, day] = iso.split("-").map(Number);
  return `${day === 1 ? "1er" : day} ${MONTHS[month - 1]} ${year}`;
}

function rawText(name, raw) {
  const kind = config.rawKinds[name] || "text";
  if (raw === null || raw === undefined || raw === "") return "non renseigné";
  if (kind === "networks") {
    return raw.map((network) => config.networkLabels[network] || network).join(", ") || "aucun";
  }
  if (kind === "date") return frenchDate(raw);
  const unit = config.units[kind];
  if (unit && typeof raw === "number") {
    const text = frenchNumber(raw, unit.decimals);
    return unit.unit ? `${text}\u00a0${unit.unit}` : text;
  }
  return String(raw);
}

// --- The markup of templates/matching/_matching.html -----------------------------------

function score(value) {
  const meter = element("meter", {
    min: "0",
    max: "1",
    value: value.toFixed(4),
    "aria-hidden": "true",
  });
  return element("span", { class: "score" }, [
    meter,
    element("strong", { class: "score-nombre" }, [scoreText(value)]),
  ]);
}

function criteriaTable(criteria, caption) {
  const headings = [
    ["Critère", ""], ["Valeur du terrain", ""], ["Note", "nombre"],
    ["Poids", "nombre"], ["Apport", "nombre"], ["Explication", ""],
  ];
  const head = element("tr", {}, headings.map(([text, cls]) =>
    element("th", cls ? { scope: "col", class: cls } : { scope: "col" }, [text])));
  const rows = criteria.map((criterion) => {
    const attributes = { "data-criterion": criterion.name };
    if (criterion.weight === 0) attributes.class = "sans-poids";
    return element("tr", attributes, [
      element("th", { scope: "row" }, [criterion.label]),
      element("td", {}, [rawText(criterion.name, criterion.raw)]),
      element("td", { class: "nombre" }, [scoreText(criterion.value)]),
      element("td", { class: "nombre" }, [weightText(criterion.weight)]),
      element("td", { class: "nombre" }, [scoreText(criterion.contribution, 3)]),
      element("td", {}, [criterion.explanation]),
    ]);
  });
  return element("div", { class: "tableau-defilant" }, [
    element("table", { class: "tableau criteres" }, [
      element("caption", { class: "visuellement-cache" }, [caption]),
      element("thead", {}, [head]),
      element("tbody", {}, rows),
    ]),
  ]);
}

function resultItem(result, opened, compared) {
  const epci = config.epciNames[result.epci_siren] || result.epci_siren;
  const checkbox = element("input", {
    type: "checkbox",
    name: "terr",
    value: result.terr_id,
    form: "comparaison",
  });
  checkbox.checked = compared.has(result.terr_id);
  const details = element("details", {}, [
    element("summary", {}, [
      element("span", { class: "rang" }, [
        element("span", { class: "visuellement-cache" }, ["Rang "]),
        String(result.rank),
      ]),
      element("span", { class: "resultat-titre" }, [
        element("span", { class: "resultat-terrain" }, [`Terrain ${result.terr_id}`]),
        element("span", { class: "resultat-lieu" }, [`${result.site_nom} · ${epci}`]),
      ]),
      score(result.score),
    ]),
    element("div", { class: "resultat-detail" }, [
      criteriaTable(result.criteria, `Détail du score du terrain ${result.terr_id}`),
      element("p", { class: "resultat-actions" }, [
        element("label", { class: "choix-comparaison" }, [checkbox, " Comparer"]),
        " ",
        link(pageUrl(config.pages.terrain, result.terr_id), "Fiche du terrain"),
        " ",
        link(pageUrl(config.pages.site, result.site_id), `Parc ${result.site_nom}`),
        " ",
        link(
          withSearch(pageUrl(config.pages.sheet, result.terr_id)),
          "Fiche imprimable pour l’entreprise",
        ),
      ]),
    ]),
  ]);
  details.open = opened.has(result.terr_id);
  const attributes = { "data-terr-id": result.terr_id, "data-rank": String(result.rank) };
  return element("li", { class: "resultat", ...attributes }, [details]);
}

function resultsCount(result) {
  const shown = result.results.length;
  let text = result.candidates === 0
    ? "Aucun terrain ne répond"
    : plural(result.candidates, "terrain répond", "terrains répondent");
  const available = plural(result.available, "terrain en vente", "terrains en vente");
  text += ` à tous les critères impératifs, sur ${available}`;
  text += ` et ${integer(result.plots)} dans l’inventaire`;
  if (shown < result.candidates) {
    text +=
      shown === 1 ? " ; le premier est affiché" : ` ; les ${integer(shown)} premiers sont affichés`;
  }
  return `${text}.`;
}

function whyNotAnswer(answer, limit) {
  const id = answer.terr_id;
  if (!answer.eligible) {
    const count = answer.failed.length;
    return [
      element("p", {}, [
        element("strong", {}, [`Le terrain ${id} est écarté`]),
        ` par ${plural(count, "critère impératif", "critères impératifs")} :`,
      ]),
      element("ul", { class: "echecs" }, answer.failed.map((failure) =>
        element("li", { "data-constraint": failure.constraint }, [
          element("strong", {}, [
            config.constraintLabels[failure.constraint] || failure.constraint,
          ]),
          ` : ${failure.explanation}`,
        ]))),
    ];
  }
  const beyond =
    answer.rank > limit ? `, au-delà des ${integer(limit)} résultats affichés` : "";
  return [
    element("p", {}, [
      element("strong", {}, [`Le terrain ${id} répond à tous les critères impératifs`]),
      ` : classé ${integer(answer.rank)}`,
      element("sup", {}, [answer.rank === 1 ? "er" : "e"]),
      ` sur ${integer(answer.candidates)}, score ${scoreText(answer.score)}${beyond}.`,
    ]),
    criteriaTable(answer.criteria, `Détail du score du terrain ${id}`),
  ];
}

// --- The search in the address, the needs for the API ----------------------------------

const PAGE_PARAMETERS = new Set(["limit", "pourquoi"]);

// url with the search of the page's address (its needs, without limit and pourquoi).
function withSearch(url) {
  const target = new URL(url, window.location.href);
  new URLSearchParams(window.location.search).forEach((value, name) => {
    if (!PAGE_PARAMETERS.has(name)) target.searchParams.append(name, value);
  });
  return target.pathname + target.search;
}

// The normalised needs say null for what was not given; the schema wants such keys left out.
function withoutNulls(value) {
  if (Array.isArray(value)) return value.map(withoutNulls);
  if (value === null || typeof value !== "object") return value;
  return Object.fromEntries(
    Object.entries(value).filter(([, v]) => v !== null).map(([k, v]) => [k, withoutNulls(v)]),
  );
}

// The needs as the page's form sends them (NeedsForm.needs_data): only the weights that
// differ from their default. Ties are broken by a hash of the needs, so the script and a
// reload of the address must send the same needs to show the same order.
function currentNeeds() {
  const needs = withoutNulls(config.needs);
  if (state.weights) {
    const changed = Object.entries(state.weights).filter(
      ([name, value]) => value !== config.defaultWeights[name],
    );
    delete needs.weights;
    if (changed.length) needs.weights = Object.fromEntries(changed);
  }
  return needs;
}

async function post(url, body, signal = undefined) {
  const response = await fetch(url, {
    method: "POST",
    signal,
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify(body),
  });
  const answer = await response.json();
  if (!response.ok) {
    const error = new Error(answer.description || `HTTP ${response.status}`);
    error.answer = answer;
    throw error;
  }
  return answer;
}

// --- Weights ---------------------------------------------------------------------------

const weightInputs = config.criteria
  .map(({ name }) => [name, document.getElementById(config.weightPrefix + name)])
  .filter(([, input]) => input);

// The weights typed, or null when one is not a number >= 0 (the browser says which).
function typedWeights() {
  const weights = {};
  for (const [name, input] of weightInputs) {
    const text = input.value.trim().replace(",", ".");
    const value = text === "" ? config.defaultWeights[name] : Number(text);
    const valid = Number.isFinite(value) && value >= 0;
    input.setAttribute("aria-invalid", valid ? "false" : "true");
    if (!valid) return null;
    weights[name] = value;
  }
  return weights;
}

function putWeightsInAddress(weights) {
  const url = new URL(window.location.href);
  Object.entries(weights).forEach(([name, value]) => {
    url.searchParams.set(config.weightPrefix + name, String(value));
  });
  window.history.replaceState(null, "", url);
  // The links and forms of the page carry the search: they follow.
  document.querySelectorAll("#resultats a[href]").forEach((link) => {
    const target = new URL(link.href, window.location.href);
    if (!target.pathname.startsWith(config.pages.search)) return;
    Object.entries(weights).forEach(([name, value]) => {
      target.searchParams.set(config.weightPrefix + name, String(value));
    });
    link.href = target.pathname + target.search;
  });
  document.querySelectorAll("#comparaison, #pourquoi").forEach((form) => {
    Object.entries(weights).forEach(([name, value]) => {
      const field = config.weightPrefix + name;
      let input = form.querySelector(`input[type="hidden"][name="${field}"]`);
      if (!input) {
        input = element("input", { type: "hidden", name: field });
        form.prepend(input);
      }
      input.value = String(value);
    });
  });
}

const status = document.getElementById("resultats-nombre");

async function rerank() {
  const weights = typedWeights();
  if (!weights) return;
  state.weights = weights;
  if (state.pending) state.pending.abort();
  const controller = new AbortController();
  state.pending = controller;
  status.textContent = "Nouveau classement en cours…";
  try {
    const url = `${config.api.match}?limit=${config.limit}`;
    const result = await post(url, currentNeeds(), controller.signal);
    if (controller.signal.aborted) return;
    state.result = result;
    showResults(result);
    putWeightsInAddress(weights);
    state.updates += 1;
  } catch (error) {
    if (controller.signal.aborted) return;
    status.textContent =
      error.answer && error.answer.errors
        ? "Ces poids ne permettent pas de classer : donnez un poids positif à au moins " +
          "un critère qui s’applique."
        : "Le classement n’a pas pu être mis à jour. Relancez la recherche avec le bouton " +
          "« Rechercher ».";
    console.error(error);
  }
}

function showResults(result) {
  const list = document.getElementById("classement");
  status.textContent = resultsCount(result);
  if (!list) return;
  // What the person opened or ticked stays so after the new ranking.
  const opened = new Set(
    [...list.querySelectorAll("details[open]")].map((d) => d.closest("li").dataset.terrId),
  );
  const compared = new Set(
    [...list.querySelectorAll("input[name=terr]:checked")].map((box) => box.value),
  );
  list.replaceChildren(...result.results.map((item) => resultItem(item, opened, compared)));
  drawMarkers(result.results);
}

let typingPause = null;
weightInputs.forEach(([, input]) => {
  input.addEventListener("input", () => {
    clearTimeout(typingPause);
    typingPause = setTimeout(() => rerank(), TYPING_PAUSE_MS);
  });
});

// --- « Pourquoi pas ? » ----------------------------------------------------------------

const whyForm = document.getElementById("pourquoi");
const whyInput = document.getElementById("pourquoi-terrain");
const whyAnswer = document.getElementById("pourquoi-reponse");

async function explain(terrId) {
  whyInput.value = terrId;
  const waiting = element("p", { class: "note" }, [`Recherche du terrain ${terrId}…`]);
  whyAnswer.replaceChildren(waiting);
  try {
    const answer = await post(pageUrl(config.api.whyNot, terrId), currentNeeds());
    whyAnswer.replaceChildren(...whyNotAnswer(answer, config.limit));
  } catch (error) {
    const unknown = error.answer && error.answer.code === "Not Found";
    whyAnswer.replaceChildren(element("p", { class: "message-erreur" }, [
      unknown
        ? `Aucun terrain n’a l’identifiant « ${terrId} ».`
        : "La réponse n’a pas pu être obtenue. Réessayez avec le bouton « Expliquer ».",
    ]));
  }
  state.whyNotAnswers += 1;
}

if (whyForm) {
  whyForm.addEventListener("submit", (event) => {
    const terrId = whyInput.value.trim();
    if (!terrId) return;
    event.preventDefault();
    explain(terrId);
  });
}

// --- The map: numbered markers of the ranked plots; a click on any plot explains it -----

function openResult(terrId) {
  const item = document.querySelector(`#classement li[data-terr-id="${CSS.escape(terrId)}"]`);
  if (!item) return;
  item.querySelector("details").open = true;
  item.scrollIntoView({ block: "nearest", behavior: "smooth" });
}

function drawMarkers(results) {
  const map = window.foncierMap && window.foncierMap.map;
  if (!map) return;
  if (!state.markers) state.markers = L.layerGroup().addTo(map);
  state.markers.clearLayers();
  results.forEach((result) => {
    const icon = L.divIcon({
      className: "marqueur-rang",
      html: element("span", { "data-terr-id": result.terr_id }, [String(result.rank)]),
      iconSize: [26, 26],
    });
    const title = `${result.rank}. Terrain ${result.terr_id}`;
    // Markers of one park overlap: the better ranked stay on top.
    const zIndexOffset = (results.length - result.rank) * 1000;
    L.marker([result.lat, result.lon], { icon, title, zIndexOffset })
      .bindTooltip(() => document.createTextNode(`${title} — ${result.site_nom}`))
      .on("click", () => openResult(result.terr_id))
      .addTo(state.markers);
  });
}

function fitToMarkers() {
  const points = state.result.results.map((result) => [result.lat, result.lon]);
  if (points.length) {
    window.foncierMap.map.fitBounds(points, { padding: [30, 30], maxZoom: 13, animate: false });
  }
}

if (window.foncierMap) {
  window.foncierMap.ready.then(() => {
    drawMarkers(state.result.results);
    fitToMarkers();
    // Any plot of the inventory's layer (from the plot zoom): why is it, or is it not, ranked?
    window.foncierMap.layers.terrain.on("click", (event) => explain(event.layer.feature.id));
    state.mapReady = true;
  });
}
