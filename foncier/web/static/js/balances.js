// The charts and the flow map of the balances page (/reseau/bilans), drawn with Chart.js and
// Leaflet from the figures of the JSON script element #graphiques-config. The page's tables
// hold the same figures and stay the accessible source: the canvases are images with a label.
import { addBasemap, element, fitOrFrance, frenchNumber, plural } from "./common.js";

const SENT_COLOUR = "#b35806";
const RECEIVED_COLOUR = "#0b57a4";
const LAND_COLOUR = "#7a8594";
const EXPOSURE_COLOUR = "#1f3a5f";
// On the charts' axis, names lose the kind of EPCI most share, and are cut beyond this length
// (the bars' tooltips and the tables give them in full).
const EPCI_KIND = /^Communauté (de communes|d’agglomération|urbaine) /;
const LABEL_LENGTH = 28;
// How far a flow's curve bends aside, as a share of its length: A → B and B → A stay apart.
const BEND = 0.15;
// The arrowhead's wings: their length as a share of the flow's, and their angle.
const WING = 0.12;
const WING_ANGLE = Math.PI / 7;
const MAX_WEIGHT = 12;

function shortLabel(name) {
  const short = name.replace(EPCI_KIND, "");
  return short.length > LABEL_LENGTH ? `${short.slice(0, LABEL_LENGTH - 1)}…` : short;
}

function barChart(canvas, labels, datasets, options = {}) {
  return new Chart(canvas, {
    type: "bar",
    data: { labels, datasets },
    options: {
      locale: "fr-FR",
      maintainAspectRatio: false,
      animation: false,
      ...options,
    },
  });
}

// Horizontal bars, one row per EPCI (eleven long names read better down than across).
function epciChart(canvas, epcis, datasets, valueAxis) {
  return barChart(
    canvas,
    epcis.map((epci) => epci.nom),
    datasets,
    {
      indexAxis: "y",
      scales: {
        x: { beginAtZero: true, ...valueAxis },
        y: { ticks: { callback: (index) => shortLabel(epcis[index].nom) } },
      },
    },
  );
}

function redirectionsChart(canvas, epcis) {
  epciChart(
    canvas,
    epcis,
    [
      { label: "Envoyées", data: epcis.map((e) => e.sent), backgroundColor: SENT_COLOUR },
      { label: "Reçues", data: epcis.map((e) => e.received), backgroundColor: RECEIVED_COLOUR },
    ],
    { ticks: { precision: 0 } },
  );
}

function percent(share) {
  return share === null ? null : share * 100;
}

function exposureChart(canvas, epcis) {
  epciChart(
    canvas,
    epcis,
    [
      {
        label: "Part des surfaces en vente",
        data: epcis.map((e) => percent(e.land_share)),
        backgroundColor: LAND_COLOUR,
      },
      {
        label: "Part de l’exposition",
        data: epcis.map((e) => percent(e.exposure_share)),
        backgroundColor: EXPOSURE_COLOUR,
      },
    ],
    { ticks: { callback: (value) => `${frenchNumber(value, 0)} %` } },
  );
}

function trendChart(canvas, quarters) {
  barChart(
    canvas,
    quarters.map((quarter) => quarter.label),
    [
      {
        label: "Redirections proposées",
        data: quarters.map((quarter) => quarter.proposed),
        backgroundColor: RECEIVED_COLOUR,
      },
    ],
    { scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
  );
}

// --- The flow map ---------------------------------------------------------------------------

function outcomeOf(flow) {
  if (flow.installed > 0) return "installed";
  return flow.accepted > 0 ? "accepted" : "other";
}

// The colour of each outcome, as the legend's swatches show it.
function outcomeColours() {
  const colours = {};
  document.querySelectorAll(".legende-flux [data-outcome]").forEach((swatch) => {
    colours[swatch.dataset.outcome] = getComputedStyle(swatch).backgroundColor;
  });
  return colours;
}

// Points of a flow from → to, on a plane where a degree of longitude is shortened by the
// cosine of the latitude (close enough at the scale of a département): a curve bending to
// the right of the way, then the arrowhead's wings at its end.
function flowShape(from, to) {
  const scale = Math.cos((from[0] * Math.PI) / 180);
  const [ax, ay, bx, by] = [from[1] * scale, from[0], to[1] * scale, to[0]];
  const [dx, dy] = [bx - ax, by - ay];
  const control = [(ax + bx) / 2 + dy * BEND, (ay + by) / 2 - dx * BEND];
  const curve = [];
  for (let step = 0; step <= 16; step += 1) {
    const t = step / 16;
    const [u, v, w] = [(1 - t) ** 2, 2 * t * (1 - t), t ** 2];
    curve.push([u * ax + v * control[0] + w * bx, u * ay + v * control[1] + w * by]);
  }
  const heading = Math.atan2(by - control[1], bx - control[0]);
  const length = Math.hypot(dx, dy) * WING;
  const wing = (side) => [
    bx - length * Math.cos(heading + side * WING_ANGLE),
    by - length * Math.sin(heading + side * WING_ANGLE),
  ];
  const toLatLng = ([x, y]) => [y, x / scale];
  return { curve: curve.map(toLatLng), head: [wing(1), [bx, by], wing(-1)].map(toLatLng) };
}

function flowTooltip(flow, names) {
  return element("span", {}, [
    `De ${names[flow.from]} vers ${names[flow.to]} : ` +
      `${plural(flow.proposed, "proposée", "proposées")}, ` +
      `${plural(flow.accepted, "acceptée", "acceptées")}, ` +
      `${plural(flow.installed, "installée", "installées")}`,
  ]);
}

function flowMap(container, config) {
  const map = L.map(container, { scrollWheelZoom: false });
  addBasemap(map, config.basemap);
  const centres = Object.fromEntries(config.epcis.map((epci) => [epci.siren, epci.centre]));
  const names = Object.fromEntries(config.epcis.map((epci) => [epci.siren, epci.nom]));
  const shapes = config.flows.map((flow) => flowShape(centres[flow.from], centres[flow.to]));
  // The view first: Leaflet cannot draw a line on a map without one.
  fitOrFrance(map, L.latLngBounds(shapes.flatMap((shape) => shape.curve)), 11);
  const colours = outcomeColours();
  const most = Math.max(...config.flows.map((flow) => flow.proposed));
  config.flows.forEach((flow, index) => {
    const style = {
      color: colours[outcomeOf(flow)],
      weight: 2 + ((MAX_WEIGHT - 2) * flow.proposed) / most,
      opacity: 0.85,
    };
    const { curve, head } = shapes[index];
    L.featureGroup([L.polyline(curve, style), L.polyline(head, style)])
      .bindTooltip(flowTooltip(flow, names), { sticky: true })
      .addTo(map);
  });
  config.epcis.forEach((epci) => {
    L.circleMarker(epci.centre, { radius: 4, color: "#1b1f24", weight: 1, fillOpacity: 0.8 })
      .bindTooltip(element("span", {}, [epci.nom]))
      .addTo(map);
  });
  return map;
}

function draw() {
  const config = JSON.parse(document.getElementById("graphiques-config").textContent);
  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  redirectionsChart(document.getElementById("graphique-redirections"), config.epcis);
  const exposure = document.getElementById("graphique-exposition");
  if (exposure) exposureChart(exposure, config.epcis);
  trendChart(document.getElementById("graphique-tendance"), config.quarters);
  const container = document.getElementById("carte-flux");
  if (container) window.foncierFlowMap = flowMap(container, config);
}

try {
  draw();
} catch (error) {
  document.getElementById("graphiques-erreur").hidden = false;
  throw error;
}
