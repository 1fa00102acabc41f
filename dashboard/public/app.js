/*
 * The dashboard page: polls /api/snapshot and draws, for each equipment, its four features over the
 * window with uPlot (bin means as a line, anomalous readings as red points), the latest alerts and the
 * counters. Plain browser JavaScript, no build step. Chart containers carry data-equipment,
 * data-feature, data-points and data-anomaly-points so tests can read what is drawn.
 */
(() => {
  const REFRESH_MS = 2500;
  const CHART_HEIGHT = 150;
  const ANOMALY_COLOR = '#dc2626';
  const FEATURES = [
    { key: 'vibration_amplitude', label: 'Vibration amplitude', color: '#2563eb' },
    { key: 'vibration_frequency', label: 'Vibration frequency', color: '#7c3aed' },
    { key: 'temperature', label: 'Temperature', color: '#ea580c' },
    { key: 'humidity', label: 'Humidity', color: '#0d9488' },
  ];

  const elements = {
    target: document.getElementById('target'),
    window: document.getElementById('window'),
    status: document.getElementById('status'),
    counters: document.getElementById('counters'),
    equipment: document.getElementById('equipment'),
    waiting: document.getElementById('waiting'),
    alerts: document.getElementById('alerts'),
    minutes: document.querySelector('#minutes tbody'),
  };

  /** equipmentId -> { panel, summary, charts: Map(feature key -> { element, plot }) } */
  const panels = new Map();
  /** The window of the latest snapshot: every chart's x range, so all charts line up. */
  let currentWindow = null;

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
    elements.window.textContent = describeWindow(snapshot);
    renderCounters(snapshot.counters);
    renderAlerts(snapshot.alerts);
    renderMinutes(snapshot.minutes ?? []);
    renderEquipment(snapshot.equipment);
  }

  function describeWindow(snapshot) {
    if (!snapshot.window) return 'no readings stored yet';
    const { fromMs, toMs } = snapshot.window;
    const minutes = Math.round((toMs - fromMs) / 60000);
    return `${clock(fromMs)} – ${clock(toMs)} (last ${minutes} min, ${snapshot.binMs / 1000} s bins)`;
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

  /** The live per-minute windows: readings on time, late ones, anomalies, mean temperature. */
  function renderMinutes(minutes) {
    elements.minutes.replaceChildren(
      ...minutes.map((window) => {
        const row = element('tr');
        row.dataset.minute = String(window.minuteMs);
        row.dataset.equipment = String(window.equipmentId);
        row.dataset.count = String(window.count);
        row.dataset.late = String(window.late);
        const temperature = window.means.temperature;
        for (const text of [
          clock(window.minuteMs).slice(0, 5),
          String(window.equipmentId),
          String(window.count),
          String(window.late),
          String(window.anomalies),
          temperature === null ? '' : temperature.toFixed(2),
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
    for (const [equipmentId, panel] of panels) {
      if (present.has(equipmentId)) continue;
      for (const chart of panel.charts.values()) chart.plot.destroy();
      panel.panel.remove();
      panels.delete(equipmentId);
    }
    // Panels in equipment order: append each in turn, which moves existing ones into place.
    for (const equipment of series) {
      const panel = panels.get(equipment.equipmentId) ?? createPanel(equipment.equipmentId);
      elements.equipment.append(panel.panel);
      updatePanel(panel, equipment);
    }
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
    for (const feature of FEATURES) {
      const container = element('div', 'chart');
      container.dataset.equipment = String(equipmentId);
      container.dataset.feature = feature.key;
      grid.append(container);
      charts.set(feature.key, { element: container, plot: null });
    }
    const created = { panel, summary, charts };
    panels.set(equipmentId, created);
    return created;
  }

  function updatePanel(panel, equipment) {
    panel.summary.textContent = `${equipment.readings.toLocaleString()} readings · ${equipment.anomalies.toLocaleString()} anomalous`;
    for (const feature of FEATURES) {
      const chart = panel.charts.get(feature.key);
      const data = chartData(equipment, feature.key);
      if (chart.plot) chart.plot.setData(data);
      else chart.plot = new uPlot(chartOptions(feature, chart.element.clientWidth), data, chart.element);
      chart.element.dataset.points = String(countValues(data[1]));
      chart.element.dataset.anomalyPoints = String(countValues(data[2]));
    }
  }

  /**
   * uPlot's aligned data: one x array (bin starts and anomaly times), the bin means, and the values of
   * the anomalous readings that concern this feature (or any feature, when a reading names none).
   */
  function chartData(equipment, feature) {
    const marks = equipment.anomalousReadings.filter(
      (reading) => reading.features.length === 0 || reading.features.includes(feature),
    );
    const times = [...new Set([...equipment.bins.map((bin) => bin.t), ...marks.map((mark) => mark.t)])].sort(
      (a, b) => a - b,
    );
    const indexOf = new Map(times.map((t, i) => [t, i]));
    const means = new Array(times.length).fill(null);
    const anomalies = new Array(times.length).fill(null);
    for (const bin of equipment.bins) means[indexOf.get(bin.t)] = bin.means[feature];
    for (const mark of marks) anomalies[indexOf.get(mark.t)] = mark.values[feature];
    return [times, means, anomalies];
  }

  function chartOptions(feature, width) {
    return {
      width,
      height: CHART_HEIGHT,
      title: feature.label,
      ms: 1,
      legend: { show: false },
      scales: {
        x: {
          time: true,
          range: (_plot, min, max) =>
            currentWindow ? [currentWindow.fromMs, currentWindow.toMs] : [min, max],
        },
      },
      // Room on the right for the last time label; time labels as in the header; y labels sized to fit.
      padding: [8, 24, 0, 0],
      axes: [{ space: 70, size: 30, values: (_plot, ticks) => ticks.map(clock) }, { size: fitLabels }],
      series: [
        {},
        { label: feature.label, stroke: feature.color, width: 1.5, spanGaps: true },
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
        chart.plot?.setSize({ width: chart.element.clientWidth, height: CHART_HEIGHT });
      }
    }
  }

  function countValues(values) {
    return values.reduce((count, value) => (value === null ? count : count + 1), 0);
  }

  function setStatus(text, isError) {
    elements.status.textContent = text;
    elements.status.classList.toggle('error', isError);
  }

  function clock(epochMs) {
    return new Date(epochMs).toLocaleTimeString([], { hour12: false });
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
  refresh();
})();
