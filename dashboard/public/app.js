/*
 * The dashboard page: polls /api/snapshot and draws, for each equipment, a chart of each of the reading
 * schema's features over the window with uPlot (bin means as a line, anomalous readings as red points;
 * the schema's label as title, its unit on the y axis), the latest alerts, the per-minute windows and
 * the counters. The snapshot names the features, so any schema (1 to 50 features) is drawn: the charts
 * of an equipment form a grid whose columns suit their number. Plain browser JavaScript, no build step.
 * Chart containers carry data-equipment, data-feature, data-label, data-unit, data-points and
 * data-anomaly-points so tests can read what is drawn.
 */
(() => {
  const REFRESH_MS = 2500;
  const CHART_HEIGHT = 150;
  /** Above this many features, charts are smaller and more to a row, so an equipment fits a screen. */
  const COMPACT_FROM = 13;
  const COMPACT_CHART_HEIGHT = 120;
  /** Axis font of compact charts (uPlot's is 12px). */
  const SMALL_FONT = '10px system-ui, sans-serif';
  const ANOMALY_COLOR = '#dc2626';
  /** Line colours by feature position: the lab's four first, then others, cycling. */
  const COLORS = [
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
  ];
  /** The per-minute table shows this feature's mean when the schema has it, else its first feature. */
  const PREFERRED_MINUTE_FEATURE = 'temperature';
  /** Tick values as uPlot writes them by default (grouping as the browser's language does). */
  const numberFormat = new Intl.NumberFormat(navigator.language);

  const elements = {
    target: document.getElementById('target'),
    schema: document.getElementById('schema'),
    window: document.getElementById('window'),
    status: document.getElementById('status'),
    schemaWarning: document.getElementById('schema-warning'),
    counters: document.getElementById('counters'),
    equipment: document.getElementById('equipment'),
    waiting: document.getElementById('waiting'),
    alerts: document.getElementById('alerts'),
    minuteFeature: document.getElementById('minute-feature'),
    minutes: document.querySelector('#minutes tbody'),
  };

  /** The schema's features as the page draws them: name, label, unit, colour. */
  let features = [];
  /** Identifies the features drawn: when a snapshot brings others, every panel is built again. */
  let featuresKey = '';
  /** equipmentId -> { panel, summary, charts: Map(feature name -> { element, plot }) } */
  const panels = new Map();
  /** The window of the latest snapshot: every chart's x range, so all charts line up. */
  let currentWindow = null;
  let latestMinutes = [];

  async function refresh() {
    try {
      const response = await fetch('/api/snapshot', { cache: 'no-store' });
      const body = await response.json();
      if (!response.ok) throw new Error(body.error || `HTTP ${response.status}`);
      render(body);
      setStatus(`updated ${clock(Date.parse(body.generatedAt))}`, false);
    } catch (error) {
      setStatus(`cannot refresh: ${error.message}`, true);
    } finally {
      setTimeout(refresh, REFRESH_MS);
    }
  }

  function render(snapshot) {
    currentWindow = snapshot.window;
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
    renderEquipment(snapshot.equipment);
  }

  function describeWindow(snapshot) {
    if (!snapshot.window) return 'no readings stored yet';
    const { fromMs, toMs } = snapshot.window;
    const minutes = Math.round((toMs - fromMs) / 60000);
    return `${clock(fromMs)} – ${clock(toMs)} (last ${minutes} min, ${snapshot.binMs / 1000} s bins)`;
  }

  /** Takes the snapshot's features; when they are not those drawn, starts the charts again. */
  function useFeatures(snapshotFeatures) {
    const key = JSON.stringify(snapshotFeatures);
    if (key === featuresKey) return;
    featuresKey = key;
    features = snapshotFeatures.map((feature, i) => ({ ...feature, color: COLORS[i % COLORS.length] }));
    for (const equipmentId of [...panels.keys()]) removePanel(equipmentId);
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
    return features.length >= COMPACT_FROM ? COMPACT_CHART_HEIGHT : CHART_HEIGHT;
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
    if (alerts.length === 0) {
      elements.alerts.replaceChildren(element('li', 'none', 'No alerts yet.'));
      return;
    }
    elements.alerts.replaceChildren(
      ...alerts.map((alert) => {
        const item = element('li');
        item.dataset.episodeId = alert.episodeId;
        item.dataset.equipment = String(alert.equipmentId);
        item.dataset.severity = alert.severity;
        item.append(
          element('span', `severity severity-${alert.severity}`, alert.severity),
          element('span', 'when', `${clock(alert.startedMs)} · equipment ${alert.equipmentId}`),
          element('span', 'subject', alert.subject),
        );
        return item;
      }),
    );
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
  }

  function removePanel(equipmentId) {
    const panel = panels.get(equipmentId);
    for (const chart of panel.charts.values()) chart.plot?.destroy();
    panel.panel.remove();
    panels.delete(equipmentId);
  }

  function createPanel(equipmentId) {
    const panel = element('article', 'equipment');
    panel.dataset.equipment = String(equipmentId);
    const heading = element('h2', undefined, `Equipment ${equipmentId}`);
    const summary = element('span', 'summary');
    heading.append(summary);
    const grid = element('div', 'charts');
    panel.append(heading, grid);
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
      charts.set(feature.name, { element: container, plot: null });
    }
    const created = { panel, summary, charts };
    panels.set(equipmentId, created);
    return created;
  }

  function updatePanel(panel, equipment) {
    panel.summary.textContent = `${equipment.readings.toLocaleString()} readings · ${equipment.anomalies.toLocaleString()} anomalous`;
    for (const feature of features) {
      const chart = panel.charts.get(feature.name);
      const data = chartData(equipment, feature.name);
      if (chart.plot) chart.plot.setData(data);
      else
        chart.plot = new uPlot(
          chartOptions(feature, chart.element.clientWidth, chart.element),
          data,
          chart.element,
        );
      const points = countValues(data[1]);
      chart.element.dataset.points = String(points);
      chart.element.classList.toggle('empty', points === 0);
      chart.element.dataset.anomalyPoints = String(countValues(data[2]));
    }
  }

  /**
   * uPlot's aligned data: one x array (bin starts and anomaly times), the bin means, and the values of
   * the anomalous readings that concern this feature (or any feature, when a reading names none). A
   * bin whose readings left an optional feature out is null, a gap in its line; an anomaly's time has
   * no mean (undefined), and the line runs through it.
   */
  function chartData(equipment, feature) {
    const marks = equipment.anomalousReadings.filter(
      (reading) =>
        (reading.features.length === 0 || reading.features.includes(feature)) &&
        reading.values[feature] !== null &&
        reading.values[feature] !== undefined,
    );
    const times = [...new Set([...equipment.bins.map((bin) => bin.t), ...marks.map((mark) => mark.t)])].sort(
      (a, b) => a - b,
    );
    const indexOf = new Map(times.map((t, i) => [t, i]));
    const means = new Array(times.length).fill(undefined);
    const anomalies = new Array(times.length).fill(null);
    for (const bin of equipment.bins) means[indexOf.get(bin.t)] = bin.means[feature] ?? null;
    for (const mark of marks) anomalies[indexOf.get(mark.t)] = mark.values[feature];
    return [times, means, anomalies];
  }

  function chartOptions(feature, width, container) {
    const compact = features.length >= COMPACT_FROM;
    return {
      width,
      height: chartHeight(),
      title: titleOf(feature.label),
      ms: 1,
      legend: { show: false },
      scales: {
        x: {
          time: true,
          range: (_plot, min, max) =>
            currentWindow ? [currentWindow.fromMs, currentWindow.toMs] : [min, max],
        },
      },
      // Room on the right for the last time label; y labels with the feature's unit ("405 V", "60 °C"),
      // sized to fit.
      padding: [8, compact ? 18 : 30, 0, 0],
      axes: [
        compact
          ? { space: 34, size: 26, font: SMALL_FONT, values: (_plot, ticks) => tickTimes(ticks) }
          : { space: 55, size: 30, values: (_plot, ticks) => tickTimes(ticks) },
        {
          // A little closer than uPlot's 30 px, so a narrow range still gets two or three ticks.
          space: 24,
          size: fitLabels,
          ...(compact ? { font: SMALL_FONT } : {}),
          values: (_plot, ticks) => {
            const labels = ticks.map((tick) =>
              tick === null ? '' : withUnitSuffix(numberFormat.format(tick), feature.unit),
            );
            container.dataset.yTicks = labels.join('|');
            return labels;
          },
        },
      ],
      series: [
        {},
        { label: feature.label, stroke: feature.color, width: 1.5 },
        {
          label: 'anomalous',
          stroke: ANOMALY_COLOR,
          paths: () => null,
          points: { show: true, size: 9, width: 1, stroke: '#7f1d1d', fill: ANOMALY_COLOR },
        },
      ],
    };
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

  function resizeCharts() {
    for (const panel of panels.values()) {
      for (const chart of panel.charts.values()) {
        chart.plot?.setSize({ width: chart.element.clientWidth, height: chartHeight() });
      }
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

  /** Time axis labels: hours and minutes when every tick is on a whole minute ("14:57"), else seconds too. */
  function tickTimes(ticks) {
    const wholeMinutes = ticks.every((t) => t % 60000 === 0);
    return ticks.map((t) =>
      wholeMinutes
        ? new Date(t).toLocaleTimeString([], { hour12: false, hour: '2-digit', minute: '2-digit' })
        : clock(t),
    );
  }

  function element(tag, className, text) {
    const created = document.createElement(tag);
    if (className) created.className = className;
    if (text !== undefined) created.textContent = text;
    return created;
  }

  let resizeTimer;
  window.addEventListener('resize', () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(resizeCharts, 150);
  });
  elements.minuteFeature.addEventListener('change', renderMinutes);
  refresh();
})();
