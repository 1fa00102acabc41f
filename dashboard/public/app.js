/*
 * The dashboard page: polls /api/snapshot?range=... and draws, for each equipment, a chart of each of
 * the reading schema's features over the window with uPlot (bin means as a line; every bin holding
 * anomalous readings of the feature as a red band behind it, darker as their share grows, with a strip
 * along the top; a hover box with the bin's time, mean and unit, score and the detector's reasons; the
 * schema's label as title, its unit on the y axis; the detector's normal band of now shaded grey and
 * its absolute limits dashed, where the detector has them), the latest alerts with their reasons, the
 * per-minute windows and the counters. The snapshot names the features, so any schema (1 to 50
 * features) is drawn: the charts of an equipment form a grid whose columns suit their number.
 *
 * A time range to choose, drag on a chart to zoom (every chart follows; double-click or "Reset zoom"
 * resets), pause and resume, a CSV export of the span shown per equipment, and a page per equipment
 * (#/equipment/ID: its charts larger and its alert history from /api/alerts, page by page). Colours
 * come from the CSS variables, light or dark as the system says; charts are drawn again when it
 * changes, and follow their container's width. Plain browser JavaScript, no build step.
 *
 * Chart containers carry data-equipment, data-feature, data-label, data-unit, data-points,
 * data-anomaly-points (bins marked), data-anomaly-bins (their starts), data-x-ticks, data-y-ticks, data-y-min /
 * data-y-max (the value range drawn), data-normal ("low..high" of the band drawn) and data-x-min /
 * data-x-max (the x range drawn, epoch ms) so tests can read what is drawn.
 */
(() => {
  /** The key of an equipment's score lane among its charts (no feature is named so: not a name character). */
  const SCORE_CHART = ' score';
  /** How often the snapshot is read again, by range: a day's minutes change slowly. */
  const REFRESH_MS = { '3m': 2500, '15m': 5000, '1h': 10000, '6h': 30000, '24h': 60000 };
  const CHART_HEIGHT = 150;
  /** Charts on an equipment's own page. */
  const DETAIL_CHART_HEIGHT = 240;
  /** Above this many features, charts are smaller and more to a row, so an equipment fits a screen. */
  const COMPACT_FROM = 13;
  const COMPACT_CHART_HEIGHT = 120;
  /** The value axis widens to the normal band by at most this factor of the line's own range. */
  const MAX_BAND_WIDENING = 3;
  /** The score lane under an equipment's charts, and on its own page. */
  const SCORE_CHART_HEIGHT = 110;
  const DETAIL_SCORE_CHART_HEIGHT = 150;
  /** Axis font of compact charts (uPlot's is 12px). */
  const SMALL_FONT = '10px system-ui, sans-serif';
  /** Line colours by feature position, for a light and a dark page: the lab's four first, then others. */
  const COLORS = {
    light: [
      '#2563eb',
      '#7c3aed',
      '#ea580c',
      '#0d9488',
      '#db2777',
      '#65a30d',
      '#0891b2',
      '#ca8a04',
      '#4f46e5',
      '#059669',
    ],
    dark: [
      '#60a5fa',
      '#a78bfa',
      '#fb923c',
      '#2dd4bf',
      '#f472b6',
      '#a3e635',
      '#22d3ee',
      '#facc15',
      '#818cf8',
      '#34d399',
    ],
  };
  /** The per-minute table shows this feature's mean when the schema has it, else its first feature. */
  const PREFERRED_MINUTE_FEATURE = 'temperature';
  /**
   * Time ticks to choose from, ms. uPlot's own go from 1 minute straight to 5, which left a 3-minute
   * window on a narrow chart without a single tick; these have 2 minutes between.
   */
  const TIME_INCREMENTS = [
    ...[1, 2, 5, 10, 15, 30].map((s) => s * 1000),
    ...[1, 2, 5, 10, 15, 30].map((m) => m * 60000),
    ...[1, 2, 3, 6, 12, 24].map((h) => h * 3600000),
  ];
  /** A drag narrower than this many pixels is a click, not a zoom. */
  const MIN_DRAG_PX = 4;
  /** Tick values as uPlot writes them by default (grouping as the browser's language does). */
  const numberFormat = new Intl.NumberFormat(navigator.language);
  const darkScheme = window.matchMedia('(prefers-color-scheme: dark)');

  const byId = (id) => document.getElementById(id);
  const elements = {
    target: byId('target'),
    schema: byId('schema'),
    window: byId('window'),
    status: byId('status'),
    range: byId('range'),
    pause: byId('pause'),
    zoom: byId('zoom'),
    zoomSpan: byId('zoom-span'),
    resetZoom: byId('reset-zoom'),
    detailNav: byId('detail-nav'),
    detailTitle: byId('detail-title'),
    schemaWarning: byId('schema-warning'),
    counters: byId('counters'),
    equipment: byId('equipment'),
    waiting: byId('waiting'),
    alerts: byId('alerts'),
    minuteFeature: byId('minute-feature'),
    minutes: document.querySelector('#minutes tbody'),
    history: byId('history'),
    historyList: byId('history-alerts'),
    historyStatus: byId('history-status'),
    historyPrevious: byId('history-previous'),
    historyNext: byId('history-next'),
  };

  /** The schema's features as the page draws them: name, label, unit, position. */
  let features = [];
  /** Identifies the features drawn: when a snapshot brings others, every panel is built again. */
  let featuresKey = '';
  /** equipmentId -> { panel, summary, exportLink, charts: Map(feature name -> chart) } */
  const panels = new Map();
  /** Chart container -> its chart, for the resize observer. */
  const chartsByElement = new WeakMap();
  let latestSnapshot = null;
  /** The window of the latest snapshot: every chart's x range unless zoomed, so all charts line up. */
  let currentWindow = null;
  /** The latest snapshot's bin width, ms: an anomaly mark spans its bin. */
  let currentBinMs = 0;
  let latestMinutes = [];
  /** The x range dragged to, { min, max } epoch ms, or null for the whole window. */
  let zoom = null;
  let paused = false;
  let refreshTimer;
  /** Counts snapshot requests: an answer to an older one (another range, a pause since) is dropped. */
  let requestNumber = 0;
  /** The page shown: { equipment: null } for all, or the id (a string) of one equipment's page. */
  let route = parseRoute();
  /** The alert history's pages visited: the page parameter of each (undefined: the first). */
  let historyPages = [undefined];
  /** What the snapshot's alerts were at the last poll (see refreshHistoryOnNewAlerts). */
  let lastAlertsSignature;
  let historyIndex = 0;

  async function refresh() {
    clearTimeout(refreshTimer);
    const request = ++requestNumber;
    try {
      const params = new URLSearchParams({ range: elements.range.value });
      if (route.equipment !== null) params.set('equipment', route.equipment);
      const body = await getJson(`/api/snapshot?${params}`);
      if (request !== requestNumber) return;
      render(body);
      refreshHistoryOnNewAlerts(body.alerts);
      const updated = `updated ${clock(Date.parse(body.generatedAt))}`;
      setStatus(paused ? `paused (${updated})` : updated, false);
    } catch (error) {
      if (request === requestNumber) setStatus(`cannot refresh: ${error.message}`, true);
    } finally {
      if (request === requestNumber && !paused)
        refreshTimer = setTimeout(refresh, REFRESH_MS[elements.range.value] ?? 2500);
    }
  }

  /** GETs JSON; an error answer (JSON or not, a 404 of an older server) throws with its status. */
  async function getJson(url) {
    const response = await fetch(url, { cache: 'no-store' });
    const isJson = (response.headers.get('content-type') ?? '').includes('json');
    const body = isJson ? await response.json() : { error: (await response.text()).trim() };
    if (!response.ok) {
      const error = new Error(body.error || `HTTP ${response.status}`);
      error.status = response.status;
      throw error;
    }
    return body;
  }

  function render(snapshot) {
    latestSnapshot = snapshot;
    currentWindow = snapshot.window;
    currentBinMs = snapshot.binMs;
    document.body.dataset.generatedAt = snapshot.generatedAt;
    elements.target.textContent = snapshot.target;
    elements.schema.textContent = `schema ${snapshot.schema}`;
    elements.window.textContent = describeWindow(snapshot);
    useFeatures(snapshot.features);
    renderSchemaWarning(snapshot);
    renderCounters(snapshot.counters);
    renderAlerts(snapshot.alerts);
    latestMinutes = snapshot.minutes ?? [];
    renderMinutes();
    renderEquipment(
      route.equipment === null
        ? snapshot.equipment
        : snapshot.equipment.filter((series) => String(series.equipmentId) === route.equipment),
    );
    showZoom();
  }

  function describeWindow(snapshot) {
    if (!snapshot.window) return 'no readings stored yet';
    const { fromMs, toMs } = snapshot.window;
    return `${when(fromMs)} – ${when(toMs)} (${duration(toMs - fromMs)}, ${duration(snapshot.binMs)} bins)`;
  }

  /** Takes the snapshot's features; when they are not those drawn, starts the charts again. */
  function useFeatures(snapshotFeatures) {
    const key = JSON.stringify(snapshotFeatures);
    if (key === featuresKey) return;
    featuresKey = key;
    features = snapshotFeatures.map((feature, index) => ({ ...feature, index }));
    removePanels();
    elements.equipment.dataset.features = String(features.length);
    elements.equipment.classList.toggle('compact', features.length >= COMPACT_FROM);
    const layout = gridColumns(features.length);
    elements.equipment.style.setProperty('--columns-wide', String(layout.wide));
    elements.equipment.style.setProperty('--columns-narrow', String(layout.narrow));
    const previous = elements.minuteFeature.value;
    elements.minuteFeature.replaceChildren(
      ...features.map((feature) => {
        const option = element('option', undefined, withUnit(feature.label, feature.unit));
        option.value = feature.name;
        return option;
      }),
    );
    const names = features.map((feature) => feature.name);
    elements.minuteFeature.value = names.includes(previous)
      ? previous
      : names.includes(PREFERRED_MINUTE_FEATURE)
        ? PREFERRED_MINUTE_FEATURE
        : (names[0] ?? '');
  }

  /**
   * Columns of an equipment's chart grid, on a wide screen and a narrower one: as many rows as the
   * widest row allows, and the charts spread evenly over them (8 features: 4 + 4; 5: 3 + 2; 9: 3 x 3).
   */
  function gridColumns(count) {
    const compact = count >= COMPACT_FROM;
    const spread = (most) => {
      const rows = Math.ceil(Math.max(count, 1) / most);
      return Math.ceil(Math.max(count, 1) / rows);
    };
    return { wide: spread(compact ? 6 : 4), narrow: spread(compact ? 3 : 2) };
  }

  function chartHeight() {
    if (route.equipment !== null) return DETAIL_CHART_HEIGHT;
    return features.length >= COMPACT_FROM ? COMPACT_CHART_HEIGHT : CHART_HEIGHT;
  }

  function scoreChartHeight() {
    return route.equipment !== null ? DETAIL_SCORE_CHART_HEIGHT : SCORE_CHART_HEIGHT;
  }

  function renderSchemaWarning(snapshot) {
    const undeclared = snapshot.undeclaredFeatures ?? [];
    elements.schemaWarning.hidden = undeclared.length === 0;
    elements.schemaWarning.textContent =
      undeclared.length === 0
        ? ''
        : `The readings hold features the schema ${snapshot.schema} does not declare (${undeclared.join(', ')}): ` +
          'start the dashboard with the schema the pipeline runs with (--schema FILE).';
  }

  function renderCounters(counters) {
    elements.counters.replaceChildren(
      ...counters.map((counter) => {
        const tile = element('div', 'tile');
        tile.dataset.counter = counter.name;
        tile.dataset.value = String(counter.value);
        tile.append(
          element('span', 'value', counter.value.toLocaleString()),
          element('span', 'name', counter.name),
        );
        return tile;
      }),
    );
  }

  function renderAlerts(alerts) {
    elements.alerts.replaceChildren(
      ...(alerts.length === 0
        ? [element('li', 'none', 'No alerts yet.')]
        : alerts.map((alert) => alertItem(alert, true))),
    );
  }

  /**
   * An alert episode: severity, start and end, the equipment (a link to its page) and every reason;
   * an older server's alert, without reasons, shows its subject and features instead.
   */
  function alertItem(alert, withEquipment) {
    const item = element('li', 'alert');
    item.dataset.episodeId = alert.episodeId;
    item.dataset.equipment = String(alert.equipmentId);
    item.dataset.severity = alert.severity;
    const head = element('div', 'alert-head');
    head.append(element('span', `severity severity-${alert.severity}`, alert.severity));
    head.append(element('span', 'when', episodeTimes(alert)));
    if (withEquipment) head.append(equipmentLink(alert.equipmentId, `equipment ${alert.equipmentId}`));
    item.append(head);
    if (Array.isArray(alert.reasons) && alert.reasons.length > 0) {
      const reasons = element('ul', 'alert-reasons');
      reasons.append(...alert.reasons.map((reason) => element('li', undefined, reason)));
      item.append(reasons);
    } else {
      item.append(element('span', 'subject', alert.subject));
      if (alert.features?.length)
        item.append(element('span', 'features', `features: ${alert.features.join(', ')}`));
    }
    if (typeof alert.anomalyCount === 'number')
      item.append(element('span', 'count', `${alert.anomalyCount.toLocaleString()} anomalous readings`));
    return item;
  }

  /** "10:02:03 – 10:04:41", "10:02:03 – ongoing", or the start alone when the server sends no end. */
  function episodeTimes(alert) {
    if (!('endedMs' in alert)) return when(alert.startedMs);
    return `${when(alert.startedMs)} – ${typeof alert.endedMs === 'number' ? when(alert.endedMs) : 'ongoing'}`;
  }

  function equipmentLink(equipmentId, text) {
    const link = element('a', 'equipment-link', text);
    link.href = `#/equipment/${encodeURIComponent(String(equipmentId))}`;
    return link;
  }

  /** The live per-minute windows: readings on time, late ones, anomalies, the mean of the chosen feature. */
  function renderMinutes() {
    const feature = elements.minuteFeature.value;
    elements.minutes.replaceChildren(
      ...latestMinutes.map((window) => {
        const row = element('tr');
        row.dataset.minute = String(window.minuteMs);
        row.dataset.equipment = String(window.equipmentId);
        row.dataset.count = String(window.count);
        row.dataset.late = String(window.late);
        const mean = window.means[feature];
        for (const text of [
          clock(window.minuteMs).slice(0, 5),
          String(window.equipmentId),
          String(window.count),
          String(window.late),
          String(window.anomalies),
          mean === null || mean === undefined ? '' : formatNumber(mean),
        ]) {
          row.append(element('td', '', text));
        }
        return row;
      }),
    );
  }

  function renderEquipment(series) {
    elements.waiting.hidden = series.length > 0;
    elements.waiting.textContent =
      route.equipment === null
        ? 'Waiting for data: no readings in the window yet.'
        : `No readings of equipment ${route.equipment} in the window.`;
    const present = new Set(series.map((s) => s.equipmentId));
    for (const equipmentId of [...panels.keys()]) {
      if (!present.has(equipmentId)) removePanel(equipmentId);
    }
    // Panels in equipment order: append each in turn, which moves existing ones into place.
    for (const equipment of series) {
      const panel = panels.get(equipment.equipmentId) ?? createPanel(equipment.equipmentId);
      elements.equipment.append(panel.panel);
      updatePanel(panel, equipment);
    }
    updateExportLinks();
  }

  function removePanel(equipmentId) {
    const panel = panels.get(equipmentId);
    for (const chart of panel.charts.values()) {
      resizeObserver.unobserve(chart.element);
      chart.plot?.destroy();
      chart.plot = null;
    }
    panel.panel.remove();
    panels.delete(equipmentId);
  }

  function removePanels() {
    for (const equipmentId of [...panels.keys()]) removePanel(equipmentId);
  }

  /** Draws every chart again from the latest snapshot: another page, or the light or dark scheme. */
  function redrawAll() {
    removePanels();
    if (latestSnapshot) render(latestSnapshot);
  }

  function createPanel(equipmentId) {
    const panel = element('article', 'equipment');
    panel.dataset.equipment = String(equipmentId);
    const head = element('div', 'panel-head');
    const heading = element('h2');
    heading.append(equipmentLink(equipmentId, `Equipment ${equipmentId}`));
    const summary = element('span', 'summary');
    const exportLink = element('a', 'export', 'Export CSV');
    exportLink.dataset.equipment = String(equipmentId);
    exportLink.title = 'The readings of the span shown, as CSV';
    exportLink.setAttribute('download', '');
    head.append(heading, summary, exportLink);
    const grid = element('div', 'charts');
    panel.append(head, grid);
    const charts = new Map();
    for (const feature of features) {
      const container = element('div', 'chart');
      container.dataset.equipment = String(equipmentId);
      container.dataset.feature = feature.name;
      container.dataset.label = feature.label;
      container.dataset.unit = feature.unit;
      container.title = `${withUnit(feature.label, feature.unit)}: ${feature.name}`;
      container.dataset.emptyNote = `no ${feature.label} in the window`;
      grid.append(container);
      const chart = { element: container, plot: null };
      charts.set(feature.name, chart);
      chartsByElement.set(container, chart);
      resizeObserver.observe(container);
    }
    // The score lane: not a feature, so out of the grid, and its chart kept apart from the features'.
    const scoreElement = element('div', 'chart score-lane');
    scoreElement.dataset.equipment = String(equipmentId);
    scoreElement.dataset.score = '';
    scoreElement.title = "The highest anomaly score of each bin, and the detector's threshold";
    panel.append(scoreElement);
    const score = { element: scoreElement, plot: null };
    charts.set(SCORE_CHART, score);
    chartsByElement.set(scoreElement, score);
    resizeObserver.observe(scoreElement);
    const created = { panel, summary, exportLink, charts, score };
    panels.set(equipmentId, created);
    return created;
  }

  function updatePanel(panel, equipment) {
    panel.summary.textContent = `${equipment.readings.toLocaleString()} readings · ${equipment.anomalies.toLocaleString()} anomalous`;
    for (const feature of features) {
      const chart = panel.charts.get(feature.name);
      const data = chartData(equipment, feature.name);
      chart.bins = equipment.bins;
      chart.marks = anomalyMarks(equipment, feature.name);
      chart.normal = equipment.normal?.features[feature.name];
      chart.normalAtMs = equipment.normal?.atMs;
      const band = normalBand(chart.normal);
      if (band) chart.element.dataset.normal = `${band.low}..${band.high}`;
      else delete chart.element.dataset.normal;
      if (chart.plot) chart.plot.setData(data);
      else chart.plot = new uPlot(featureChartOptions(feature, chart), data, chart.element);
      const points = countValues(data[1]);
      chart.element.dataset.points = String(points);
      chart.element.classList.toggle('empty', points === 0);
      chart.element.dataset.anomalyPoints = String(chart.marks.length);
      chart.element.dataset.anomalyBins = chart.marks.map((mark) => mark.t).join(',');
    }
    updateScoreLane(panel.score, equipment);
  }

  /**
   * The score lane of an equipment: shown while its bins carry their highest score (per-minute windows
   * written before they kept it carry none), with the lowest threshold of its features.
   */
  function updateScoreLane(chart, equipment) {
    const scores = equipment.bins.map((bin) => (typeof bin.maxScore === 'number' ? bin.maxScore : null));
    chart.element.hidden = scores.every((score) => score === null);
    chart.bins = equipment.bins;
    const thresholds = Object.values(equipment.normal?.features ?? {}).map((normal) => normal.threshold);
    chart.threshold = thresholds.length > 0 ? Math.min(...thresholds) : undefined;
    if (chart.threshold === undefined) delete chart.element.dataset.threshold;
    else chart.element.dataset.threshold = String(chart.threshold);
    const data = [equipment.bins.map((bin) => bin.t), scores];
    if (chart.plot) chart.plot.setData(data);
    else chart.plot = new uPlot(scoreChartOptions(chart), data, chart.element);
    chart.element.dataset.points = String(countValues(scores));
  }

  /**
   * uPlot's aligned data: the bin starts and the bin means of the feature. A bin whose readings left
   * an optional feature out is null, a gap in its line.
   */
  function chartData(equipment, feature) {
    return [equipment.bins.map((bin) => bin.t), equipment.bins.map((bin) => bin.means[feature] ?? null)];
  }

  /** Every bin with anomalous readings concerning this feature: its start, how many, their share. */
  function anomalyMarks(equipment, feature) {
    const marks = [];
    for (const bin of equipment.bins) {
      const count = bin.anomalousFeatures?.[feature] ?? 0;
      if (count > 0) marks.push({ t: bin.t, count, share: count / bin.count });
    }
    return marks;
  }

  /** The detector's band of no surprise for a feature, when it has one. */
  function normalBand(normal) {
    return typeof normal?.low === 'number' && typeof normal?.high === 'number'
      ? { low: normal.low, high: normal.high }
      : undefined;
  }

  /**
   * Behind the line, what the detector holds normal now: its band of no surprise shaded across the
   * chart, and its absolute limits as dashed lines where they fall inside the drawn range.
   */
  function drawNormal(plot, chart, colors) {
    const normal = chart.normal;
    if (!normal) return;
    const { ctx, bbox } = plot;
    ctx.save();
    const band = normalBand(normal);
    if (band) {
      const top = plot.valToPos(band.high, 'y', true);
      const bottom = plot.valToPos(band.low, 'y', true);
      const y0 = Math.max(bbox.top, Math.min(top, bottom));
      const y1 = Math.min(bbox.top + bbox.height, Math.max(top, bottom));
      if (y1 > y0) {
        ctx.fillStyle = colors.normal;
        ctx.fillRect(bbox.left, y0, bbox.width, y1 - y0);
      }
    }
    ctx.restore();
    for (const limit of [normal.limitLow, normal.limitHigh, normal.levelLow, normal.levelHigh]) {
      if (typeof limit === 'number') drawDashedLine(plot, limit, colors.anomaly);
    }
  }

  /** A dashed line across the plot at a value, when the value is in the range drawn. */
  function drawDashedLine(plot, value, color) {
    const { ctx, bbox } = plot;
    const y = plot.valToPos(value, 'y', true);
    if (y < bbox.top || y > bbox.top + bbox.height) return;
    ctx.save();
    ctx.strokeStyle = color;
    ctx.lineWidth = devicePixelRatio;
    ctx.setLineDash([6 * devicePixelRatio, 4 * devicePixelRatio]);
    ctx.beginPath();
    ctx.moveTo(bbox.left, y);
    ctx.lineTo(bbox.left + bbox.width, y);
    ctx.stroke();
    ctx.restore();
  }

  /** The threshold across the score lane, dashed: a bin whose score reaches it holds a flagged reading. */
  function drawThreshold(plot, chart, colors) {
    if (chart.threshold !== undefined) drawDashedLine(plot, chart.threshold, colors.anomaly);
  }

  /**
   * Marks every anomalous bin behind the line: a translucent red band over the bin, darker as more of
   * its readings are anomalous, and a solid strip along the top edge so a single bin is still seen.
   */
  function drawAnomalyBands(plot, chart, color) {
    const marks = chart.marks ?? [];
    if (marks.length === 0 || !currentBinMs) return;
    const { ctx, bbox } = plot;
    const left = bbox.left;
    const right = bbox.left + bbox.width;
    const minWidth = 2 * devicePixelRatio;
    const strip = 4 * devicePixelRatio;
    ctx.save();
    ctx.fillStyle = color;
    for (const mark of marks) {
      const x0 = Math.max(left, plot.valToPos(mark.t, 'x', true));
      const x1 = Math.min(right, plot.valToPos(mark.t + currentBinMs, 'x', true));
      if (x1 < left || x0 > right) continue;
      const width = Math.max(x1 - x0, minWidth);
      ctx.globalAlpha = 0.1 + 0.25 * Math.min(1, mark.share);
      ctx.fillRect(x0, bbox.top, width, bbox.height);
      ctx.globalAlpha = 0.9;
      ctx.fillRect(x0, bbox.top, width, strip);
    }
    ctx.restore();
  }

  /** The hover box: the bin under the cursor, its mean with the unit, score, flagged or not, reasons. */
  function showTooltip(plot, chart, feature) {
    const tooltip = chart.tooltip;
    const bin = binUnderCursor(plot, chart);
    if (!bin) {
      tooltip.hidden = true;
      return;
    }
    const mean = bin.means[feature.name];
    const flagged = bin.anomalousFeatures?.[feature.name] ?? 0;
    const readings = `${bin.count} reading${bin.count === 1 ? '' : 's'}`;
    const lines = [
      `${clock(bin.t)}${currentBinMs > 1000 ? ` (+${duration(currentBinMs)})` : ''}`,
      `${feature.label}: ${mean === null || mean === undefined ? 'no value' : withUnitSuffix(formatNumber(mean), feature.unit)}`,
      // Bins of a long range (per-minute windows) may come without their score.
      typeof bin.maxScore === 'number' ? `score ${bin.maxScore.toFixed(2)} · ${readings}` : readings,
      flagged > 0 ? `flagged: ${flagged} anomalous` : 'not flagged',
      ...normalLines(chart, feature),
    ];
    tooltip.replaceChildren(...lines.map((line) => element('div', undefined, line)));
    if (flagged > 0 && bin.top?.reasons) tooltip.append(element('div', 'reasons', bin.top.reasons));
    tooltip.classList.toggle('flagged', flagged > 0);
    placeTooltip(plot, chart);
  }

  /** The bin under the cursor, if the cursor is over the plot. */
  function binUnderCursor(plot, chart) {
    const index = plot.cursor.idx;
    if (index === null || index === undefined || plot.cursor.left < 0) return undefined;
    return chart.bins?.[index];
  }

  /** Shows the hover box beside the cursor, inside the chart (relative to the chart's box, which holds it). */
  function placeTooltip(plot, chart) {
    const tooltip = chart.tooltip;
    tooltip.hidden = false;
    const over = plot.over.getBoundingClientRect();
    const box = chart.element.getBoundingClientRect();
    const width = tooltip.offsetWidth;
    const x = over.left - box.left + plot.cursor.left;
    tooltip.style.left = `${Math.max(0, Math.min(x + 12, box.width - width))}px`;
    tooltip.style.top = `${over.top - box.top + 4}px`;
  }

  /** The score lane's hover box: the bin's time, its highest score, the threshold, its reasons. */
  function showScoreTooltip(plot, chart) {
    const bin = binUnderCursor(plot, chart);
    if (!bin || typeof bin.maxScore !== 'number') {
      chart.tooltip.hidden = true;
      return;
    }
    const lines = [
      clock(bin.t),
      `highest score ${bin.maxScore.toFixed(2)} of ${bin.count} reading${bin.count === 1 ? '' : 's'}`,
      chart.threshold === undefined
        ? `${bin.anomalies} flagged`
        : `${bin.anomalies} flagged (from score ${chart.threshold.toFixed(2)})`,
    ];
    chart.tooltip.replaceChildren(...lines.map((line) => element('div', undefined, line)));
    if (bin.anomalies > 0 && bin.top?.reasons)
      chart.tooltip.append(element('div', 'reasons', bin.top.reasons));
    chart.tooltip.classList.toggle('flagged', bin.anomalies > 0);
    placeTooltip(plot, chart);
  }

  /** The hover box's lines on what the detector holds normal for the feature now. */
  function normalLines(chart, feature) {
    const normal = chart.normal;
    if (!normal) return [];
    const value = (number) => withUnitSuffix(formatNumber(number), feature.unit);
    const lines = [];
    const band = normalBand(normal);
    if (band) lines.push(`normal at ${clock(chart.normalAtMs)}: ${value(band.low)} to ${value(band.high)}`);
    if (typeof normal.limitLow === 'number' || typeof normal.limitHigh === 'number') {
      lines.push(
        `limits: ${typeof normal.limitLow === 'number' ? value(normal.limitLow) : '–'} to ${typeof normal.limitHigh === 'number' ? value(normal.limitHigh) : '–'}`,
      );
    }
    if (typeof normal.levelLow === 'number' && typeof normal.levelHigh === 'number') {
      lines.push(`trained levels: ${value(normal.levelLow)} to ${value(normal.levelHigh)}`);
    }
    lines.push(`flagged from score ${normal.threshold.toFixed(2)}`);
    return lines;
  }

  /** The chart colours of the scheme shown, from the page's CSS variables. */
  function chartColors() {
    const style = getComputedStyle(document.documentElement);
    const read = (name) => style.getPropertyValue(name).trim();
    return {
      scheme: darkScheme.matches ? 'dark' : 'light',
      text: read('--chart-text'),
      grid: read('--chart-grid'),
      anomaly: read('--anomaly'),
      normal: read('--normal-band'),
    };
  }

  /** A feature's chart: its line, the normal band and limits, the anomalous bins, its hover box. */
  function featureChartOptions(feature, chart) {
    const colors = chartColors();
    return chartOptions(chart, colors, {
      title: titleOf(feature.label),
      height: chartHeight(),
      drawBehind: (plot) => {
        drawNormal(plot, chart, colors);
        drawAnomalyBands(plot, chart, colors.anomaly);
      },
      onCursor: (plot) => showTooltip(plot, chart, feature),
      // The line's range, widened to show the normal band whole unless that would squeeze the line
      // into less than a third of the chart (the band is then cut at the chart's edges).
      yRange: (_plot, min, max) => {
        if (min === null || max === null) return [null, null];
        const band = normalBand(chart.normal);
        if (band) {
          const low = Math.min(min, band.low);
          const high = Math.max(max, band.high);
          if (high - low <= MAX_BAND_WIDENING * (max - min)) return uPlot.rangeNum(low, high, 0.1, true);
        }
        return uPlot.rangeNum(min, max, 0.1, true);
      },
      yLabel: (tick) => withUnitSuffix(numberFormat.format(tick), feature.unit),
      series: {
        label: feature.label,
        stroke: COLORS[colors.scheme][feature.index % COLORS.light.length],
        width: 1.5,
      },
    });
  }

  /** An equipment's score lane: the highest score of each bin, 0 to 1, and the threshold dashed. */
  function scoreChartOptions(chart) {
    const colors = chartColors();
    return chartOptions(chart, colors, {
      title: 'Anomaly score (highest of each bin)',
      height: scoreChartHeight(),
      drawBehind: (plot) => drawThreshold(plot, chart, colors),
      onCursor: (plot) => showScoreTooltip(plot, chart),
      yRange: () => [0, 1],
      yLabel: (tick) => numberFormat.format(tick),
      series: { label: 'score', stroke: colors.anomaly, width: 1.2 },
    });
  }

  /** What every chart shares: the time axis and its range, zoom by drag, the hover box, the colours. */
  function chartOptions(chart, colors, spec) {
    const compact = features.length >= COMPACT_FROM;
    const container = chart.element;
    chart.height = spec.height;
    elements.equipment.dataset.scheme = colors.scheme;
    chart.tooltip = element('div', 'tooltip');
    chart.tooltip.hidden = true;
    container.append(chart.tooltip);
    const axisColors = {
      stroke: colors.text,
      grid: { stroke: colors.grid, width: 1 },
      ticks: { stroke: colors.grid, width: 1 },
    };
    return {
      width: Math.max(1, Math.floor(container.clientWidth)),
      height: spec.height,
      title: spec.title,
      ms: 1,
      legend: { show: false },
      // Dragging selects a span of time: every chart of the page zooms to it.
      cursor: { y: false, points: { size: 7 }, drag: { x: true, y: false, setScale: false } },
      hooks: {
        drawClear: [spec.drawBehind],
        setCursor: [spec.onCursor],
        setSelect: [zoomToSelection],
        setScale: [
          (plot, key) => {
            if (key === 'y') {
              container.dataset.yMin = String(plot.scales.y.min);
              container.dataset.yMax = String(plot.scales.y.max);
            }
            if (key !== 'x') return;
            container.dataset.xMin = String(Math.round(plot.scales.x.min));
            container.dataset.xMax = String(Math.round(plot.scales.x.max));
          },
        ],
        ready: [(plot) => plot.over.addEventListener('dblclick', () => setZoom(null))],
      },
      scales: {
        x: {
          time: true,
          range: (_plot, min, max) => {
            const span = shownSpan();
            return span ? [span.min, span.max] : [min, max];
          },
        },
        y: { range: spec.yRange },
      },
      // Room on the right for the last time label ("10:20:10" centred on the plot's edge); y labels
      // with the feature's unit ("405 V", "60 °C"), sized to fit.
      padding: [8, compact ? 24 : 30, 0, 0],
      axes: [
        {
          ...axisColors,
          ...(compact ? { size: 26, font: SMALL_FONT } : { size: 30 }),
          space: timeTickSpace(compact ? 36 : 45, compact ? 52 : 66),
          incrs: TIME_INCREMENTS,
          values: (_plot, ticks) => {
            const labels = tickTimes(ticks);
            container.dataset.xTicks = labels.join('|');
            return labels;
          },
        },
        {
          ...axisColors,
          // A little closer than uPlot's 30 px, so a narrow range still gets two or three ticks.
          space: 24,
          size: fitLabels,
          ...(compact ? { font: SMALL_FONT } : {}),
          values: (_plot, ticks) => {
            const labels = ticks.map((tick) => (tick === null ? '' : spec.yLabel(tick)));
            container.dataset.yTicks = labels.join('|');
            return labels;
          },
        },
      ],
      series: [{}, spec.series],
    };
  }

  /**
   * Pixels between time ticks: closer for whole minutes ("10:27"), which are short, than for seconds
   * ("10:27:30"), so neither overlap nor leave a chart with a single tick.
   */
  function timeTickSpace(minutes, seconds) {
    return (_plot, _axis, min, max, width) => (((max - min) / width) * minutes > 30000 ? minutes : seconds);
  }

  /** Width of the y axis: its longest label, measured, so values like 1,004.52 are never clipped. */
  function fitLabels(plot, labels, axisIndex, cycle) {
    const axis = plot.axes[axisIndex];
    if (cycle > 1) return axis._size;
    // No labels (no value in the window): still room for the first time label to be centred under.
    if (!labels || labels.length === 0) return 40;
    const longest = (labels ?? []).reduce(
      (widest, label) => (label.length > widest.length ? label : widest),
      '',
    );
    plot.ctx.font = axis.font[0];
    return Math.ceil(axis.ticks.size + axis.gap + plot.ctx.measureText(longest).width / devicePixelRatio);
  }

  /** The x range every chart draws: the span zoomed to, else the snapshot's window. */
  function shownSpan() {
    if (zoom) return zoom;
    return currentWindow ? { min: currentWindow.fromMs, max: currentWindow.toMs } : null;
  }

  /** The end of a drag over a chart: zoom every chart to the span selected. */
  function zoomToSelection(plot) {
    const { left, width } = plot.select;
    plot.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
    if (width < MIN_DRAG_PX) return;
    setZoom({ min: Math.round(plot.posToVal(left, 'x')), max: Math.round(plot.posToVal(left + width, 'x')) });
  }

  /** Zooms every chart to `span` ({ min, max }), or back to the whole window (null). */
  function setZoom(span) {
    zoom = span;
    const shown = shownSpan();
    if (shown) {
      for (const chart of allCharts()) chart.plot?.setScale('x', { ...shown });
    }
    showZoom();
    updateExportLinks();
  }

  function showZoom() {
    elements.zoom.hidden = zoom === null;
    elements.zoomSpan.textContent = zoom ? `zoomed to ${when(zoom.min)} – ${when(zoom.max)}` : '';
  }

  /** Each equipment's CSV link: its readings over the span shown (zoomed or not). */
  function updateExportLinks() {
    const span = shownSpan();
    for (const [equipmentId, panel] of panels) {
      if (!span) {
        panel.exportLink.removeAttribute('href');
        continue;
      }
      const params = new URLSearchParams({
        equipment: String(equipmentId),
        from: new Date(span.min).toISOString(),
        to: new Date(span.max).toISOString(),
      });
      panel.exportLink.href = `/api/readings.csv?${params}`;
    }
  }

  function* allCharts() {
    for (const panel of panels.values()) yield* panel.charts.values();
  }

  /** Charts follow their container's width (the window, the layout's columns, a scroll bar). */
  const resizeObserver = new ResizeObserver((entries) => {
    // Next frame: resizing inside the observer's callback would notify it again in the same frame.
    requestAnimationFrame(() => {
      for (const entry of entries) {
        const chart = chartsByElement.get(entry.target);
        const width = Math.floor(entry.contentRect.width);
        if (chart?.plot && width > 0 && width !== chart.plot.width)
          chart.plot.setSize({ width, height: chart.height ?? chartHeight() });
      }
    });
  });

  function setPaused(pause) {
    paused = pause;
    elements.pause.textContent = paused ? 'Resume' : 'Pause';
    elements.pause.setAttribute('aria-pressed', String(paused));
    document.body.classList.toggle('paused', paused);
    if (paused) {
      clearTimeout(refreshTimer);
      requestNumber++;
      setStatus('paused', false);
    } else refresh();
  }

  function parseRoute() {
    const match = /^#\/equipment\/(.+)$/.exec(location.hash);
    return { equipment: match ? decodeURIComponent(match[1]) : null };
  }

  /** Shows the page the address names: all equipment, or one equipment's charts and alert history. */
  function showRoute() {
    route = parseRoute();
    const detail = route.equipment !== null;
    document.body.classList.toggle('detail', detail);
    elements.detailNav.hidden = !detail;
    elements.history.hidden = !detail;
    elements.detailTitle.textContent = detail ? `Equipment ${route.equipment}` : '';
    document.title = detail
      ? `Equipment ${route.equipment} · Sensor anomaly pipeline`
      : 'Sensor anomaly pipeline';
    zoom = null;
    redrawAll();
    if (detail) {
      historyPages = [undefined];
      historyIndex = 0;
      lastAlertsSignature = undefined;
      loadHistory();
    }
    window.scrollTo(0, 0);
    // Even when paused: the other page needs its own snapshot (one equipment, or all).
    refresh();
  }

  /** One page of the equipment's alert history (GET /api/alerts?page=N&equipment=ID). */
  /**
   * On an equipment's page showing the newest alerts, reads that page again when the snapshot's alerts
   * changed (a new episode, or one grown), so the history follows without a request every poll.
   */
  function refreshHistoryOnNewAlerts(alerts) {
    if (route.equipment === null) return;
    const signature = JSON.stringify(
      (alerts ?? []).map((alert) => [
        alert.episodeId,
        alert.endedMs,
        alert.anomalyCount,
        alert.reasons?.length,
      ]),
    );
    if (signature === lastAlertsSignature) return;
    const first = lastAlertsSignature === undefined;
    lastAlertsSignature = signature;
    if (!first && historyIndex === 0) loadHistory(true);
  }

  /** Reads the shown page of the alert history; `quiet` (a refresh) keeps the list and buttons meanwhile. */
  async function loadHistory(quiet = false) {
    const equipment = route.equipment;
    const index = historyIndex;
    const params = new URLSearchParams({ equipment });
    if (historyPages[index] !== undefined) params.set('page', String(historyPages[index]));
    if (!quiet) {
      elements.historyPrevious.disabled = true;
      elements.historyNext.disabled = true;
      elements.historyStatus.textContent = 'loading…';
    }
    try {
      const body = await getJson(`/api/alerts?${params}`);
      if (route.equipment !== equipment || historyIndex !== index) return;
      historyPages[index + 1] = body.nextPage ?? undefined;
      elements.historyList.replaceChildren(
        ...(body.items.length === 0
          ? [element('li', 'none', index === 0 ? 'No alerts.' : 'No more alerts.')]
          : body.items.map((alert) => alertItem(alert, false))),
      );
      elements.historyStatus.textContent = `page ${index + 1}`;
      elements.historyPrevious.disabled = index === 0;
      elements.historyNext.disabled = body.nextPage === null || body.nextPage === undefined;
    } catch (error) {
      // A refresh that fails leaves the page read before.
      if (route.equipment !== equipment || quiet) return;
      elements.historyList.replaceChildren();
      elements.historyStatus.textContent =
        error.status === 404
          ? 'This server does not keep an alert history.'
          : `cannot read the alert history: ${error.message}`;
      elements.historyPrevious.disabled = index === 0;
    }
  }

  function countValues(values) {
    return values.reduce((count, value) => (value === null || value === undefined ? count : count + 1), 0);
  }

  /** A mean for the table: 2 decimals, more for small values (a power factor of 0.934, 0.0052 g). */
  function formatNumber(value) {
    const magnitude = Math.abs(value);
    const decimals =
      magnitude === 0 || magnitude >= 1 ? 2 : Math.min(6, 2 - Math.floor(Math.log10(magnitude)));
    return value.toFixed(decimals);
  }

  /**
   * A chart's title: the label, which the schema writes lowercase for alert subjects ("vibration
   * amplitude"), with a capital first letter; unless its second is one already ("pH", "kW").
   */
  function titleOf(label) {
    const [first = '', second = ''] = label;
    return second !== '' && second !== second.toLowerCase() ? label : first.toUpperCase() + label.slice(1);
  }

  /** A value and its unit as the y axis shows them: "405 V", "60 °C", "30%". */
  function withUnitSuffix(text, unit) {
    if (unit === '') return text;
    return unit === '%' || (unit.startsWith('°') && unit.length === 1) ? `${text}${unit}` : `${text} ${unit}`;
  }

  function withUnit(label, unit) {
    return unit === '' ? label : `${label} (${unit})`;
  }

  function setStatus(text, isError) {
    elements.status.textContent = text;
    elements.status.classList.toggle('error', isError);
  }

  function clock(epochMs) {
    return new Date(epochMs).toLocaleTimeString([], { hour12: false });
  }

  /** A time of day, with the date before it when not today ("Nov 28, 23:10:05"). */
  function when(epochMs) {
    const date = new Date(epochMs);
    if (date.toDateString() === new Date().toDateString()) return clock(epochMs);
    return `${date.toLocaleDateString([], { month: 'short', day: 'numeric' })}, ${clock(epochMs)}`;
  }

  /** "10 s", "3 min", "1 h", "24 h". */
  function duration(ms) {
    if (ms < 60000) return `${Math.round(ms / 1000)} s`;
    if (ms < 3600000) return `${Math.round(ms / 60000)} min`;
    return `${Math.round((ms / 3600000) * 10) / 10} h`;
  }

  /** Time axis labels: hours and minutes when every tick is on a whole minute ("14:57"), else seconds too. */
  function tickTimes(ticks) {
    const wholeMinutes = ticks.every((t) => t % 60000 === 0);
    return ticks.map((t) => {
      if (!wholeMinutes) return clock(t);
      const date = new Date(t);
      // Midnight names its day, so a range over a day change says which hours are of which day.
      if (date.getHours() === 0 && date.getMinutes() === 0)
        return date.toLocaleDateString([], { month: 'short', day: 'numeric' });
      return date.toLocaleTimeString([], { hour12: false, hour: '2-digit', minute: '2-digit' });
    });
  }

  function element(tag, className, text) {
    const created = document.createElement(tag);
    if (className) created.className = className;
    if (text !== undefined) created.textContent = text;
    return created;
  }

  elements.minuteFeature.addEventListener('change', renderMinutes);
  elements.range.addEventListener('change', () => {
    zoom = null;
    showZoom();
    refresh();
  });
  elements.pause.addEventListener('click', () => setPaused(!paused));
  elements.resetZoom.addEventListener('click', () => setZoom(null));
  elements.historyPrevious.addEventListener('click', () => {
    historyIndex = Math.max(0, historyIndex - 1);
    loadHistory();
  });
  elements.historyNext.addEventListener('click', () => {
    historyIndex += 1;
    loadHistory();
  });
  window.addEventListener('hashchange', showRoute);
  darkScheme.addEventListener('change', redrawAll);
  showRoute();
})();
