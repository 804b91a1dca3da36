// What the pages' scripts share (map.js, matching.js and draw.js, loaded as ES modules):
// building DOM nodes, French numbers as foncier/web/formatting.py writes them, the API's GeoJSON
// and the maps' basemap and initial view. Leaflet (the global L) is loaded by the page, or by
// draw.js before it calls the map functions.

// The view of a map with nothing to fit: metropolitan France.
export const FRANCE = { centre: [46.6, 2.4], zoom: 6 };

// DOM nodes, never HTML strings, including where Leaflet would insert a string as HTML (popups,
// icons): names come from the database (CNIG imports) and must stay plain text.
export function element(tag, attributes, children = []) {
  const node = document.createElement(tag);
  Object.entries(attributes).forEach(([name, value]) => node.setAttribute(name, value));
  node.append(...children);
  return node;
}

// The address of a record's page, from a template of the pages' settings ("/terrains/__ID__").
export function pageUrl(template, id) {
  return template.replace("__ID__", encodeURIComponent(id));
}

const numberFormats = new Map();

// « 1 234,56 », with the narrow no-break space of formatting.number whatever the browser.
export function frenchNumber(value, maximumDecimals = 2) {
  if (!numberFormats.has(maximumDecimals)) {
    const format = new Intl.NumberFormat("fr-FR", { maximumFractionDigits: maximumDecimals });
    numberFormats.set(maximumDecimals, format);
  }
  return numberFormats.get(maximumDecimals).format(value).replace(/\u202f|\u00a0/g, "\u202f");
}

export function integer(value) {
  return frenchNumber(value, 0);
}

// French plural: 0 and 1 take the singular.
export function plural(count, singular, pluralForm) {
  return `${integer(count)} ${count > 1 ? pluralForm : singular}`;
}

// Every feature behind url: a collection is followed along its "next" links.
export async function fetchFeatures(url, signal = undefined) {
  const features = [];
  let next = url;
  while (next) {
    const response = await fetch(next, { signal, headers: { Accept: "application/geo+json" } });
    if (!response.ok) throw new Error(`${next}: HTTP ${response.status}`);
    const body = await response.json();
    if (body.type === "Feature") return [body];
    features.push(...body.features);
    const link = (body.links || []).find((candidate) => candidate.rel === "next");
    next = link ? link.href : null;
  }
  return features;
}

// The tiles of the configured basemap, if any (the tests run without).
export function addBasemap(map, basemap) {
  if (basemap.url) {
    L.tileLayer(basemap.url, { attribution: basemap.attribution, maxZoom: 19 }).addTo(map);
  }
}

// The map fitted to bounds, or France when they are empty (nothing to show).
export function fitOrFrance(map, bounds, maxZoom) {
  if (bounds.isValid()) map.fitBounds(bounds, { padding: [12, 12], maxZoom });
  else map.setView(FRANCE.centre, FRANCE.zoom);
}
