// The geometry inputs of the edit forms (templates/inventory/_geometry.html): a Leaflet map
// where Leaflet-Geoman draws, edits or removes ONE polygon, kept in sync with the form's
// <textarea> both ways (drawing writes GeoJSON in WGS84; pasted GeoJSON is drawn), a GeoJSON
// file chooser, and for plots the outline built from cadastral references by the API.
// Settings come from a JSON script element named by data-geometry-input (no inline script:
// see the pages' Content-Security-Policy). Each input's state is
// window.foncierGeometryInputs[<textarea id>], which tests read. The macro may be used twice on
// a page: a module runs once, and serves every input.
import { addBasemap, fetchFeatures, fitOrFrance } from "./common.js";

window.foncierGeometryInputs = {};

const CONTEXT_STYLES = {
  epci: { color: "#2b3a55", weight: 2, dashArray: "6 4", fillOpacity: 0.02 },
  site: { color: "#1f4e79", weight: 2, fillColor: "#1f4e79", fillOpacity: 0.08 },
  terrain: { color: "#4a5360", weight: 1, fillColor: "#8a94a3", fillOpacity: 0.35 },
};
const DRAWN_STYLE = { color: "#b34700", weight: 3, fillColor: "#f0a500", fillOpacity: 0.35 };
// 7 decimals of a degree are about a centimetre, the precision the server keeps.
const DECIMALS = 7;
const TYPING_PAUSE_MS = 400;
const POLYGONAL = ["Polygon", "MultiPolygon"];

function loadScript(url) {
  return new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = url;
    script.onload = resolve;
    script.onerror = () => reject(new Error(`${url} could not be loaded`));
    document.head.append(script);
  });
}

// A page extending _with_map.html has Leaflet already; loading it twice would drop Geoman.
async function ensureLibraries(assets) {
  if (!window.L) await loadScript(assets.leaflet);
  if (!window.L.PM) await loadScript(assets.geoman);
}

function featuresOf(geojson) {
  return geojson.type === "FeatureCollection" ? geojson.features : [geojson];
}

async function contextLayer(spec) {
  const features = spec.url ? await fetchFeatures(spec.url) : featuresOf(spec.geojson);
  const shown = features.filter((feature) => spec.exclude == null || feature.id !== spec.exclude);
  // Context is for looking and snapping to, never for editing or clicking through.
  return L.geoJSON(shown, {
    style: { ...CONTEXT_STYLES[spec.kind], className: `dessin-contexte-${spec.kind}` },
    interactive: false,
    pmIgnore: true,
  });
}

// The GeoJSON geometry of a pasted text, or why it is not drawn: { geometry } or { note }.
function readText(text) {
  const trimmed = text.trim();
  if (!trimmed) return { geometry: null };
  let document_;
  try {
    document_ = JSON.parse(trimmed);
  } catch {
    return {
      note: trimmed.startsWith("{")
        ? "Le texte n’est pas du GeoJSON lisible : il sera vérifié à l’enregistrement."
        : "Texte WKT : il sera vérifié et dessiné à l’enregistrement.",
    };
  }
  if (document_ && document_.crs) {
    return { note: "Système de coordonnées déclaré (« crs ») : la géométrie sera vérifiée et dessinée à l’enregistrement." };
  }
  let geometry = document_;
  if (geometry && geometry.type === "FeatureCollection" && geometry.features.length === 1) {
    [geometry] = geometry.features;
  }
  if (geometry && geometry.type === "Feature") geometry = geometry.geometry;
  if (!geometry || !POLYGONAL.includes(geometry.type)) {
    return { note: "Un polygone GeoJSON est attendu : le texte sera vérifié à l’enregistrement." };
  }
  return { geometry };
}

function initInput(container) {
  const config = JSON.parse(document.getElementById(container.dataset.geometryInput).textContent);
  const textarea = document.getElementById(config.textarea);
  const status = document.getElementById(`${config.textarea}-etat`);
  const mapElement = document.getElementById(`${config.textarea}-carte`);
  const state = { map: null, drawn: null, context: [], ready: null, loaded: false };
  window.foncierGeometryInputs[config.textarea] = state;

  function say(message) {
    status.textContent = message;
  }

  function writeText() {
    textarea.value = state.drawn ? JSON.stringify(state.drawn.toGeoJSON(DECIMALS).geometry) : "";
  }

  function adopt(layer) {
    if (state.drawn && state.drawn !== layer) state.map.removeLayer(state.drawn);
    state.drawn = layer;
    if (!layer) return;
    layer.setStyle(DRAWN_STYLE);
    layer.getElement()?.classList.add("dessin-trace");
    // pm:edit follows vertex moves and drags alike.
    layer.on("pm:edit", () => {
      writeText();
      say("Contour modifié.");
    });
  }

  function show(geometry) {
    if (!geometry) {
      adopt(null);
      return;
    }
    const [layer] = L.geoJSON(geometry).getLayers();
    layer.addTo(state.map);
    adopt(layer);
    state.map.fitBounds(layer.getBounds(), { padding: [24, 24], maxZoom: 18 });
  }

  // Draws the text's geometry; says why not when it cannot. True when drawn.
  function showText() {
    const { geometry, note } = readText(textarea.value);
    if (note) {
      say(note);
      return false;
    }
    try {
      show(geometry);
    } catch {
      say("Coordonnées illisibles : le texte sera vérifié à l’enregistrement.");
      return false;
    }
    say(geometry ? "Géométrie affichée sur la carte." : "");
    return Boolean(geometry);
  }

  function listenToText() {
    let timer = null;
    textarea.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(showText, TYPING_PAUSE_MS);
    });
    const fileInput = document.getElementById(config.fileInput);
    fileInput.addEventListener("change", async () => {
      const [file] = fileInput.files;
      if (!file) return;
      textarea.value = await file.text();
      // The text now carries the file: posting it again would only duplicate it.
      fileInput.value = "";
      if (showText()) say(`Fichier « ${file.name} » chargé et affiché sur la carte.`);
    });
  }

  function listenToDrawing() {
    const { map } = state;
    map.pm.setLang("fr");
    map.pm.addControls({
      position: "topleft",
      drawMarker: false,
      drawCircleMarker: false,
      drawPolyline: false,
      drawCircle: false,
      drawText: false,
      cutPolygon: false,
      rotateMode: false,
    });
    nameToolbarButtons(map.getContainer());
    map.on("pm:create", ({ layer }) => {
      const replaced = Boolean(state.drawn);
      adopt(layer);
      writeText();
      say(replaced ? "Nouveau contour dessiné : il remplace le précédent." : "Contour dessiné.");
    });
    map.on("pm:remove", ({ layer }) => {
      if (layer !== state.drawn) return;
      state.drawn = null;
      writeText();
      say("Contour supprimé.");
    });
  }

  function listenToCadastre() {
    const button = document.getElementById(`${config.textarea}-cadastre`);
    if (!button || !config.cadastre) return;
    button.addEventListener("click", async () => {
      const refsInput = document.getElementById(config.cadastre.refsInput);
      const refs = refsInput ? refsInput.value.trim() : "";
      if (!refs) {
        say("Indiquez d’abord les références cadastrales des parcelles du terrain.");
        return;
      }
      const url = new URL(config.cadastre.url, window.location.href);
      url.searchParams.set("refs", refs);
      const response = await fetch(url, { headers: { Accept: "application/geo+json" } });
      const body = await response.json();
      if (!response.ok) {
        say(body.message);
        return;
      }
      show(body.geometry);
      writeText();
      say(body.properties.message);
    });
  }

  function fitContext() {
    const bounds = L.latLngBounds([]);
    state.context.forEach((layer) => {
      if (layer.getBounds().isValid()) bounds.extend(layer.getBounds());
    });
    fitOrFrance(state.map, bounds, 18);
  }

  async function start() {
    await ensureLibraries(config.assets);
    const map = L.map(mapElement);
    state.map = map;
    addBasemap(map, config.basemap);
    state.context = await Promise.all(config.layers.map(contextLayer));
    state.context.forEach((layer) => layer.addTo(map));
    fitContext();
    listenToDrawing();
    listenToText();
    listenToCadastre();
    showText();
    state.loaded = true;
  }

  state.ready = start().catch((error) => {
    document.getElementById(`${config.textarea}-carte-erreur`).hidden = false;
    console.error(error);
  });
}

document.querySelectorAll("[data-geometry-input]").forEach(initInput);

// Leaflet-Geoman's tools are links whose only name is the title of the box around them: a
// screen reader would say « lien » alone (axe-core: link-name; RGAA 6.2). Each takes that
// title as its name.
function nameToolbarButtons(container) {
  for (const button of container.querySelectorAll(".leaflet-buttons-control-button")) {
    const title = button.parentElement?.getAttribute("title");
    if (title) button.setAttribute("aria-label", title);
  }
}
