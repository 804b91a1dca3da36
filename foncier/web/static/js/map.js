// The maps of foncier, drawn with Leaflet from the GeoJSON API: EPCI outlines, parks, plots
// coloured by their CNIG marketing stage, hatched constraint zones. Each map reads its settings
// from a JSON script element named by its data-map-config attribute: pages carry no inline
// script (see their Content-Security-Policy). The state of the page's map is window.foncierMap.
import {
  FRANCE,
  addBasemap,
  element,
  fetchFeatures,
  fitOrFrance,
  frenchNumber,
  pageUrl,
  plural,
} from "./common.js";

const LAYER_LABELS = {
  epci: "Intercommunalités (EPCI)",
  zone: "Zones de contrainte",
  site: "Parcs d’activités",
  terrain: "Terrains",
};
// Drawing order, bottom to top: a park stays clickable over the zone it lies in, a plot over
// its park.
const PANE_Z_INDEX = { epci: 410, zone: 420, site: 430, terrain: 440 };
const UNKNOWN_STAGE_COLOUR = "#bbbbbb";
// Ground size of a pixel in France at zoom 0, in metres: Web Mercator tiles of 256 pixels
// span the equator (40,075 km) at zoom 0, and shrink with the cosine of the latitude.
const FRANCE_PIXEL_M = (40075016.686 * Math.cos((FRANCE.centre[0] * Math.PI) / 180)) / 256;

function line(...parts) {
  return element("p", {}, parts);
}

function title(...parts) {
  return element("p", { class: "carte-popup-titre" }, parts);
}

function pageLink(template, id, text) {
  return element("a", { href: pageUrl(template, id) }, [text]);
}

function hectares(value) {
  return `${frenchNumber(value)} ha`;
}

const POPUPS = {
  site(p, config) {
    const vacancy = p.site_taux_vacance === null ? "non calculable" : `${p.site_taux_vacance} %`;
    return [
      title(pageLink(config.pages.site, p.site_id, p.site_nom)),
      line(`${p.site_comm_nom} · ${p.site_epci_nom}`),
      line(
        `${hectares(p.surf_disponible)} disponibles ` +
          `(${plural(p.terrains_disponibles, "terrain", "terrains")})`,
      ),
      line(`Taux de vacance : ${vacancy}`),
    ];
  },
  terrain(p, config) {
    const price =
      p.terr_m2_prix === null ? "prix non renseigné" : `${frenchNumber(p.terr_m2_prix)} €/m²`;
    return [
      title(pageLink(config.pages.terrain, p.terr_id, `Terrain ${p.terr_id}`)),
      line(p.terr_stade_comm),
      line(`${hectares(p.terr_surf_brute)} · ${price}`),
      line("Parc : ", pageLink(config.pages.site, p.site_id, p.site_nom)),
    ];
  },
  zone(p, config) {
    const lines = [title(p.nom), line(config.zoneTypes[p.zone_type] || p.zone_type)];
    const warning = p.properties && p.properties.avertissement;
    return warning ? [...lines, line(warning)] : lines;
  },
};
const TOOLTIPS = { epci: (p) => p.nom, site: (p) => p.site_nom };

function styleOf(kind, config) {
  const styles = {
    epci: () => ({ color: "#2b3a55", weight: 2, fillColor: "#2b3a55", fillOpacity: 0.03 }),
    site: () => ({ color: "#1f4e79", weight: 2, fillColor: "#1f4e79", fillOpacity: 0.2 }),
    zone: () => ({ color: "#2166ac", weight: 1 }),
    terrain: (feature) => {
      const highlighted = feature.id === config.highlight;
      return {
        color: highlighted ? "#000000" : "#333333",
        weight: highlighted ? 4 : 1,
        fillColor: config.colours[feature.properties.terr_stade_comm] || UNKNOWN_STAGE_COLOUR,
        fillOpacity: 0.8,
      };
    },
  };
  return (feature) => ({ ...styles[kind](feature), className: `carte-${kind}` });
}

function createLayer(map, kind, config) {
  const pane = `couche-${kind}`;
  map.createPane(pane).style.zIndex = PANE_Z_INDEX[kind];
  return L.geoJSON(null, {
    pane,
    style: styleOf(kind, config),
    onEachFeature(feature, layer) {
      // Lets tests and users' tools find a feature's path.
      layer.on("add", () => {
        layer.getElement().setAttribute("data-id", feature.id);
        if (feature.id === config.highlight) layer.bringToFront();
      });
      if (TOOLTIPS[kind]) {
        layer.bindTooltip(() => document.createTextNode(TOOLTIPS[kind](feature.properties)), {
          sticky: true,
        });
      }
      if (POPUPS[kind]) {
        layer.bindPopup(() =>
          element("div", { class: "carte-popup" }, POPUPS[kind](feature.properties, config)),
        );
      }
    },
  });
}

// The API takes minlon,minlat,maxlon,maxlat within the WGS84 range; a world view exceeds it.
function bboxOf(bounds) {
  const clamp = (value, limit) => Math.max(-limit, Math.min(limit, value)).toFixed(6);
  return [
    clamp(bounds.getWest(), 180),
    clamp(bounds.getSouth(), 90),
    clamp(bounds.getEast(), 180),
    clamp(bounds.getNorth(), 90),
  ].join(",");
}

// The ground size of a pixel in France at this zoom, in whole metres: finer detail would not
// show. It depends on the zoom only, so that panning never changes it.
function pixelMetres(zoom) {
  return Math.floor(FRANCE_PIXEL_M / 2 ** zoom);
}

function withParameters(url, parameters) {
  const absolute = new URL(url, window.location.href);
  Object.entries(parameters).forEach(([name, value]) => absolute.searchParams.set(name, value));
  return absolute.href;
}

function fitView(map, state, config) {
  const bounds = L.latLngBounds([]);
  config.fit.forEach((target) => {
    if (target === "highlight") {
      state.layers.terrain.eachLayer((layer) => {
        if (layer.feature.id === config.highlight) bounds.extend(layer.getBounds().pad(1.5));
      });
    } else if (state.layers[target] && state.layers[target].getBounds().isValid()) {
      bounds.extend(state.layers[target].getBounds());
    }
  });
  fitOrFrance(map, bounds, 17);
}

function initMap(container) {
  const config = JSON.parse(document.getElementById(container.dataset.mapConfig).textContent);
  const map = L.map(container);
  addBasemap(map, config.basemap);
  const control = L.control.layers(null, null, { collapsed: window.innerWidth < 800 }).addTo(map);
  // counts: features drawn per layer; updates: how many times each layer was refreshed;
  // simplified: the simplification (metres) of the features drawn, per layer.
  const state = { map, layers: {}, counts: {}, updates: {}, simplified: {}, loaded: false };

  // Features already drawn stay as they are (an open popup stays open when the map pans to
  // show it), unless they were simplified for another zoom; the others come and go.
  function show(spec, features, simplified = null) {
    const layer = state.layers[spec.kind];
    if ((state.simplified[spec.kind] ?? null) !== simplified) layer.clearLayers();
    state.simplified[spec.kind] = simplified;
    const wanted = new Set(features.map((feature) => feature.id));
    const drawn = new Set();
    layer.eachLayer((shape) => {
      if (wanted.has(shape.feature.id)) drawn.add(shape.feature.id);
      else layer.removeLayer(shape);
    });
    layer.addData(features.filter((feature) => !drawn.has(feature.id)));
    state.counts[spec.kind] = features.length;
    state.updates[spec.kind] = (state.updates[spec.kind] || 0) + 1;
  }

  async function loadOnce(spec) {
    show(spec, await fetchFeatures(spec.url));
  }

  // Layers fetched for the visible area at every move; a newer move cancels a pending fetch.
  // Those with simplifyMax ask for outlines simplified to a pixel (at most simplifyMax).
  function followView(spec) {
    let pending = null;
    async function refresh() {
      if (pending) pending.abort();
      if (spec.minZoom && map.getZoom() < spec.minZoom) {
        show(spec, []);
        return;
      }
      pending = new AbortController();
      const { signal } = pending;
      const parameters = { bbox: bboxOf(map.getBounds()) };
      const simplified =
        spec.simplifyMax === undefined
          ? null
          : Math.min(spec.simplifyMax, pixelMetres(map.getZoom()));
      if (simplified !== null) parameters.simplify = simplified;
      try {
        const features = await fetchFeatures(withParameters(spec.url, parameters), signal);
        if (!signal.aborted) show(spec, features, simplified);
      } catch (error) {
        if (error.name !== "AbortError") throw error;
      }
    }
    map.on("moveend", () => refresh().catch(reportError));
    return refresh();
  }

  function reportError(error) {
    container.nextElementSibling.hidden = false;
    console.error(error);
  }

  config.layers.forEach((spec) => {
    state.layers[spec.kind] = createLayer(map, spec.kind, config).addTo(map);
    control.addOverlay(state.layers[spec.kind], LAYER_LABELS[spec.kind]);
  });
  state.ready = Promise.all(config.layers.filter((spec) => !spec.byBbox).map(loadOnce))
    .then(() => fitView(map, state, config))
    .then(() => Promise.all(config.layers.filter((spec) => spec.byBbox).map(followView)))
    .then(() => {
      state.loaded = true;
    })
    .catch(reportError);
  return state;
}

document.querySelectorAll("[data-map-config]").forEach((container) => {
  window.foncierMap = initMap(container);
});
