// Charts drawn here as SVG (issue 19): bars (with the previous period as a second, lighter
// series), lines, a sparkline and the weekday × hour heat map. No dependency, nothing fetched:
// they work offline and print as vectors. Each chart is an image for assistive technology
// (`role="img"`, an `aria-label` and a `<title>`), and the figures it shows are also in the
// table beside it. Numbers and dates are formatted by the caller (the person's locale via Intl).

const NS = 'http://www.w3.org/2000/svg';

/** An SVG element: svg('rect', {x: 1}, ...children); text children are set as text. */
export function svg(tag, attributes, ...children) {
    const element = document.createElementNS(NS, tag);
    for (const [name, value] of Object.entries(attributes || {})) {
        if (value === undefined || value === null || value === false) continue;
        element.setAttribute(name, String(value));
    }
    for (const child of children.flat()) {
        if (child === null || child === undefined || child === false) continue;
        element.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return element;
}

function frame(width, height, label, className) {
    return svg('svg', { viewBox: `0 0 ${width} ${height}`, width: '100%', role: 'img', 'aria-label': label, class: ['chart', className].filter(Boolean).join(' '),
        preserveAspectRatio: 'xMidYMid meet', focusable: 'false' }, svg('title', null, label));
}

/** A "nice" upper bound and tick step for values up to `max`. */
export function niceScale(max, ticks = 4) {
    if (!(max > 0)) return { top: 1, step: 1 / ticks };
    const raw = max / ticks;
    const magnitude = 10 ** Math.floor(Math.log10(raw));
    const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= raw) || raw;
    return { top: step * Math.ceil(max / step), step };
}

/** Which of `count` labels to print so that they do not overlap (every n-th, and the last). */
function labelEvery(count, room) {
    return Math.max(1, Math.ceil(count / Math.max(1, room)));
}

function axes(chart, { left, top, plotWidth, plotHeight, scale, format }) {
    const grid = svg('g', { class: 'chart-grid', 'aria-hidden': 'true' });
    for (let value = 0; value <= scale.top + scale.step / 2; value += scale.step) {
        const y = top + plotHeight - (value / scale.top) * plotHeight;
        grid.appendChild(svg('line', { x1: left, x2: left + plotWidth, y1: y, y2: y }));
        grid.appendChild(svg('text', { x: left - 6, y: y + 4, 'text-anchor': 'end', class: 'chart-tick' }, format(value)));
    }
    chart.appendChild(grid);
}

function xLabels(chart, labels, { left, top, plotHeight, slot }) {
    const every = labelEvery(labels.length, Math.floor((slot * labels.length) / 56));
    const group = svg('g', { class: 'chart-x', 'aria-hidden': 'true' });
    labels.forEach((label, index) => {
        if (index % every !== 0 && index !== labels.length - 1) return;
        group.appendChild(svg('text', { x: left + slot * index + slot / 2, y: top + plotHeight + 16, 'text-anchor': 'middle', class: 'chart-tick' }, label));
    });
    chart.appendChild(group);
}

function legend(chart, series, { left, y }) {
    if (series.length < 2) return;
    const group = svg('g', { class: 'chart-legend' });
    let x = left;
    series.forEach((serie, index) => {
        group.appendChild(svg('rect', { x, y: y - 9, width: 12, height: 12, class: `series-${index}${serie.previous ? ' previous' : ''}` }));
        group.appendChild(svg('text', { x: x + 16, y: y + 1, class: 'chart-tick' }, serie.name));
        x += 28 + serie.name.length * 7;
    });
    chart.appendChild(group);
}

/**
 * Bars, one group per label; `series`: [{name, values, previous?}] (the previous period's series
 * is drawn lighter, beside the current one). `format(value)` for the axis and the bars' titles.
 */
export function barChart({ title, labels, series, format = String, width = 720, height = 260, testid }) {
    const left = 72, top = 14, bottom = 28 + (series.length > 1 ? 20 : 0), right = 8;
    const plotWidth = width - left - right, plotHeight = height - top - bottom;
    const max = Math.max(0, ...series.flatMap((s) => s.values.map((v) => Number(v) || 0)));
    const scale = niceScale(max);
    const chart = frame(width, height, title, 'bar-chart');
    if (testid) chart.dataset.testid = testid;
    axes(chart, { left, top, plotWidth, plotHeight, scale, format });
    const slot = plotWidth / Math.max(1, labels.length);
    const barWidth = Math.max(1, (slot * 0.8) / Math.max(1, series.length));
    const bars = svg('g', { class: 'chart-bars' });
    labels.forEach((label, index) => {
        series.forEach((serie, s) => {
            const value = Number(serie.values[index]) || 0;
            const barHeight = (Math.max(0, value) / scale.top) * plotHeight;
            bars.appendChild(svg('rect', {
                x: left + slot * index + slot * 0.1 + barWidth * s, y: top + plotHeight - barHeight, width: barWidth, height: barHeight,
                class: `series-${s}${serie.previous ? ' previous' : ''}`,
            }, svg('title', null, `${label} · ${serie.name}: ${format(value)}`)));
        });
    });
    chart.appendChild(bars);
    xLabels(chart, labels, { left, top, plotHeight, slot });
    legend(chart, series, { left, y: height - 6 });
    return chart;
}

/** Lines over the labels; `series` as for barChart (the previous period dashed and lighter). */
export function lineChart({ title, labels, series, format = String, width = 720, height = 260, testid }) {
    const left = 72, top = 14, bottom = 28 + (series.length > 1 ? 20 : 0), right = 8;
    const plotWidth = width - left - right, plotHeight = height - top - bottom;
    const max = Math.max(0, ...series.flatMap((s) => s.values.map((v) => Number(v) || 0)));
    const scale = niceScale(max);
    const chart = frame(width, height, title, 'line-chart');
    if (testid) chart.dataset.testid = testid;
    axes(chart, { left, top, plotWidth, plotHeight, scale, format });
    const slot = plotWidth / Math.max(1, labels.length);
    series.forEach((serie, s) => {
        const points = labels.map((_, index) => {
            const value = Math.max(0, Number(serie.values[index]) || 0);
            return [left + slot * index + slot / 2, top + plotHeight - (value / scale.top) * plotHeight];
        });
        chart.appendChild(svg('polyline', { points: points.map((p) => p.map((n) => n.toFixed(1)).join(',')).join(' '), class: `line series-${s}${serie.previous ? ' previous' : ''}` }));
        const dots = svg('g', { class: `dots series-${s}${serie.previous ? ' previous' : ''}` });
        points.forEach(([x, y], index) => dots.appendChild(svg('circle', { cx: x.toFixed(1), cy: y.toFixed(1), r: 2.5 },
            svg('title', null, `${labels[index]} · ${serie.name}: ${format(Number(serie.values[index]) || 0)}`))));
        chart.appendChild(dots);
    });
    xLabels(chart, labels, { left, top, plotHeight, slot });
    legend(chart, series, { left, y: height - 6 });
    return chart;
}

/** A small line without axes: the shape of the last days (`values`, oldest first). */
export function sparkline(values, { label, width = 120, height = 32, testid } = {}) {
    const chart = frame(width, height, label, 'sparkline');
    if (testid) chart.dataset.testid = testid;
    const numbers = values.map((v) => Number(v) || 0);
    const max = Math.max(0, ...numbers), min = Math.min(0, ...numbers);
    const span = max - min || 1;
    const step = numbers.length > 1 ? (width - 4) / (numbers.length - 1) : 0;
    const points = numbers.map((value, index) => [2 + step * index, height - 3 - ((value - min) / span) * (height - 6)]);
    chart.appendChild(svg('polyline', { points: points.map((p) => p.map((n) => n.toFixed(1)).join(',')).join(' '), class: 'line series-0' }));
    if (points.length) {
        const [x, y] = points[points.length - 1];
        chart.appendChild(svg('circle', { cx: x.toFixed(1), cy: y.toFixed(1), r: 2.5, class: 'series-0' }));
    }
    return chart;
}

/**
 * The weekday × hour heat map: `values[weekday][hour]` (Monday first), `rowLabels` the weekdays'
 * names; a cell's darkness is its share of the busiest cell. Hours without any value in the
 * whole map are left out at both ends.
 */
export function heatMap({ title, values, rowLabels, format = String, testid }) {
    const hours = [...Array(24).keys()];
    const any = hours.filter((hour) => values.some((row) => Number(row[hour]) > 0));
    const first = any.length ? Math.min(...any) : 8, last = any.length ? Math.max(...any) : 20;
    const shown = hours.filter((hour) => hour >= first && hour <= last);
    const cell = 26, left = 44, top = 18;
    const width = left + cell * shown.length + 4, height = top + cell * values.length + 4;
    const chart = frame(width, height, title, 'heat-map');
    // Its natural size (cells of 26 px), narrower on a small screen.
    chart.setAttribute('width', String(width));
    if (testid) chart.dataset.testid = testid;
    const max = Math.max(0, ...values.flat().map((v) => Number(v) || 0));
    shown.forEach((hour, column) => chart.appendChild(svg('text', { x: left + cell * column + cell / 2, y: top - 5, 'text-anchor': 'middle', class: 'chart-tick', 'aria-hidden': 'true' }, String(hour))));
    values.forEach((row, weekday) => {
        chart.appendChild(svg('text', { x: left - 6, y: top + cell * weekday + cell / 2 + 4, 'text-anchor': 'end', class: 'chart-tick', 'aria-hidden': 'true' }, rowLabels[weekday]));
        shown.forEach((hour, column) => {
            const value = Number(row[hour]) || 0;
            const level = max > 0 && value > 0 ? Math.min(5, 1 + Math.floor((value / max) * 5)) : 0;
            chart.appendChild(svg('rect', { x: left + cell * column + 1, y: top + cell * weekday + 1, width: cell - 2, height: cell - 2, rx: 3, class: `heat-${level}` },
                svg('title', null, `${rowLabels[weekday]} ${String(hour).padStart(2, '0')}:00: ${format(value)}`)));
        });
    });
    return chart;
}
