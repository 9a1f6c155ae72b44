package bench

import (
	"fmt"
	"image/color"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// plotPipeline draws jobs/s against the upload's latency for ikq, the sequential loop
// and asynq's ceiling, on log scales, into a PNG at path. Latency 0 is drawn at
// 0.1 ms: a log scale has no 0.
func plotPipeline(path string, points []pipelinePoint) error {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("%d small files, one worker, %d uploads in flight", pipelineFiles, workerConcurrency)
	p.X.Label.Text = "upload latency (ms; 0 drawn at 0.1)"
	p.Y.Label.Text = "jobs/s"
	p.X.Scale, p.Y.Scale = plot.LogScale{}, plot.LogScale{}
	p.X.Tick.Marker, p.Y.Tick.Marker = plot.LogTicks{Prec: -1}, plot.LogTicks{Prec: -1}
	p.Legend.Top, p.Legend.Left = false, true
	p.Add(plotter.NewGrid())

	series := []struct {
		name  string
		value func(pipelinePoint) float64
		color color.RGBA
		shape draw.GlyphDrawer
	}{
		{"asynq ceiling (tasks that only wait)", func(p pipelinePoint) float64 { return p.ceiling }, color.RGBA{150, 150, 150, 255}, draw.SquareGlyph{}},
		{"ikq", func(p pipelinePoint) float64 { return p.ikq }, color.RGBA{30, 100, 200, 255}, draw.CircleGlyph{}},
		{"sequential loop", func(p pipelinePoint) float64 { return p.loop }, color.RGBA{220, 90, 30, 255}, draw.TriangleGlyph{}},
	}
	for _, s := range series {
		xys := make(plotter.XYs, len(points))
		for i, pt := range points {
			xys[i].X = max(float64(pt.latency.Microseconds())/1000, 0.1)
			xys[i].Y = s.value(pt)
		}
		line, dots, err := plotter.NewLinePoints(xys)
		if err != nil {
			return err
		}
		line.Color, dots.Color, dots.Shape = s.color, s.color, s.shape
		line.Width = vg.Points(1.5)
		p.Add(line, dots)
		p.Legend.Add(s.name, line, dots)
	}
	return p.Save(7*vg.Inch, 4.5*vg.Inch, path)
}
