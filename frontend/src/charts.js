// window.GuanjiaCharts: bar charts for the leaders' dashboard (Chart.js, bundled, no CDN).
import {
  Chart, BarController, BarElement, CategoryScale, LinearScale, Tooltip, Legend,
} from 'chart.js';

Chart.register(BarController, BarElement, CategoryScale, LinearScale, Tooltip, Legend);

const COLORS = { red: '#d92d20', yellow: '#f2a900', green: '#12b76a', blue: '#1d4ed8' };

function resolve(el) {
  const found = typeof el === 'string' ? document.querySelector(el) : el;
  if (!found) {
    throw new Error('GuanjiaCharts: element not found: ' + el);
  }
  return found;
}

/**
 * Draw a bar chart into `canvas` (element or selector).
 *
 * @param {Element|string} canvas
 * @param {{labels: string[], datasets: {label: string, data: number[], color: string,
 *   links?: string[]}[], stacked?: boolean, horizontal?: boolean}} spec
 *   A bar with a link opens it when clicked (the list its number counts).
 * @returns {Chart}
 */
function bar(canvas, spec) {
  const el = resolve(canvas);
  const existing = Chart.getChart(el);
  if (existing) {
    existing.destroy();
  }
  const chart = new Chart(el, {
    type: 'bar',
    data: {
      labels: spec.labels,
      datasets: spec.datasets.map((d) => ({
        label: d.label, data: d.data,
        backgroundColor: COLORS[d.color] || d.color || COLORS.blue,
      })),
    },
    options: {
      indexAxis: spec.horizontal ? 'y' : 'x',
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      plugins: { legend: { display: spec.datasets.length > 1, position: 'bottom' } },
      scales: {
        x: { stacked: !!spec.stacked, beginAtZero: true, ticks: { precision: 0 } },
        y: { stacked: !!spec.stacked, beginAtZero: true, ticks: { precision: 0 } },
      },
      onClick(event, elements) {
        if (!elements.length) {
          return;
        }
        const { datasetIndex, index } = elements[0];
        const links = spec.datasets[datasetIndex].links;
        if (links && links[index]) {
          window.location.assign(links[index]);
        }
      },
      onHover(event, elements) {
        event.native.target.style.cursor = elements.length ? 'pointer' : 'default';
      },
    },
  });
  return chart;
}

window.GuanjiaCharts = { bar, Chart };
