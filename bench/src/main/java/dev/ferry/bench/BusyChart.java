package dev.ferry.bench;

import dev.ferry.bench.PipelineBench.Consumer;
import java.awt.BasicStroke;
import java.awt.Color;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.List;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.LogarithmicAxis;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

/**
 * The busy fraction against the job length (a log axis), one line per consumer, as a PNG drawn
 * headless with JFreeChart.
 */
final class BusyChart {

    private static final Color[] COLOURS = {new Color(0x1f77b4), new Color(0x2ca02c), new Color(0xd62728),
            new Color(0x9467bd)};

    private BusyChart() {
    }

    static void write(PipelineReport report, List<Long> lengths, Path file) {
        System.setProperty("java.awt.headless", "true");
        XYSeriesCollection data = new XYSeriesCollection();
        for (Consumer consumer : report.consumers()) {
            XYSeries series = new XYSeries(consumer.label);
            for (long length : lengths) {
                double busy = report.busy(consumer, length);
                if (!Double.isNaN(busy)) {
                    series.add(length, busy);
                }
            }
            data.addSeries(series);
        }
        LogarithmicAxis x = new LogarithmicAxis("job length (ms, log scale)");
        x.setStrictValuesFlag(false);
        x.setRange(2, 2000);
        NumberAxis y = new NumberAxis("busy fraction of the slot");
        y.setRange(0, 1.02);
        XYLineAndShapeRenderer renderer = new XYLineAndShapeRenderer(true, true);
        for (int i = 0; i < data.getSeriesCount(); i++) {
            renderer.setSeriesPaint(i, COLOURS[i % COLOURS.length]);
            renderer.setSeriesStroke(i, new BasicStroke(2f));
        }
        XYPlot plot = new XYPlot(data, x, y, renderer);
        plot.setBackgroundPaint(Color.WHITE);
        plot.setDomainGridlinePaint(Color.LIGHT_GRAY);
        plot.setRangeGridlinePaint(Color.LIGHT_GRAY);
        JFreeChart chart = new JFreeChart("One slot, a queued backlog: busy fraction by job length",
                JFreeChart.DEFAULT_TITLE_FONT, plot, true);
        chart.setBackgroundPaint(Color.WHITE);
        try {
            ChartUtils.saveChartAsPNG(file.toFile(), chart, 900, 560);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file, e);
        }
    }
}
