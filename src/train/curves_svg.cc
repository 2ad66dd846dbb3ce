// training_curves.svg (see src/train/report.h).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

#include "train/report.h"

namespace ernie {

namespace {

constexpr double kWidth = 960, kPanelHeight = 300, kTop = 64, kGap = 56;
constexpr double kLeft = 72, kRight = 210;  // the legend sits in the right margin
constexpr double kPlotW = kWidth - kLeft - kRight, kPlotH = kPanelHeight - 40;

std::string escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default:
        // XML 1.0 forbids most control characters even escaped.
        if (static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n' && c != '\r') out += ' ';
        else out += c;
    }
  }
  return out;
}

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

std::string tick_label(double v, double step) {
  char buf[32];
  if (std::abs(v) < step * 1e-6) v = 0;
  int decimals = 0;  // enough to write every multiple of step exactly (0.25 -> 2)
  while (decimals < 6) {
    const double scaled = step * std::pow(10.0, decimals);
    if (std::abs(scaled - std::round(scaled)) < 1e-6 * std::max(1.0, scaled)) break;
    ++decimals;
  }
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

// A "nice" tick spacing (1, 2 or 5 times a power of ten) giving about `target` ticks.
double nice_step(double span, int target) {
  if (!(span > 0)) return 1;
  const double raw = span / target;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  const double norm = raw / mag;
  return (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * mag;
}

struct Axis {
  double lo, hi, step;
};

Axis nice_axis(double lo, double hi, int target) {
  if (!(hi > lo)) hi = lo + 1;
  const double step = nice_step(hi - lo, target);
  return {std::floor(lo / step + 1e-9) * step, std::ceil(hi / step - 1e-9) * step, step};
}

struct Series {
  std::string name, color;
  std::vector<std::pair<double, double>> points;  // (x, y); NaN y breaks the line
  double width = 2;
  double opacity = 1;
  bool markers = false;
  bool dashed = false;
};

bool has_data(const Series& s) {
  return std::any_of(s.points.begin(), s.points.end(),
                     [](const auto& p) { return std::isfinite(p.first) && std::isfinite(p.second); });
}

std::vector<std::pair<double, double>> moving_average(const std::vector<std::pair<int64_t, double>>& v, int window) {
  std::vector<std::pair<double, double>> out;
  window = std::max(window, 1);
  double sum = 0;
  int count = 0;
  for (size_t i = 0; i < v.size(); ++i) {
    if (std::isfinite(v[i].second)) sum += v[i].second, ++count;
    if (i >= static_cast<size_t>(window) && std::isfinite(v[i - window].second)) sum -= v[i - window].second, --count;
    out.emplace_back(static_cast<double>(v[i].first), count ? sum / count : NAN);
  }
  return out;
}

class Panel {
 public:
  Panel(double top, std::string title, std::string y_label, Axis x, Axis y)
      : top_(top), title_(std::move(title)), y_label_(std::move(y_label)), x_(x), y_(y) {}

  double px(double x) const { return kLeft + (x - x_.lo) / (x_.hi - x_.lo) * kPlotW; }
  double py(double y) const { return top_ + kPlotH - (y - y_.lo) / (y_.hi - y_.lo) * kPlotH; }

  std::string render(const std::vector<Series>& series, const std::vector<std::pair<double, int>>& epoch_marks,
                     const std::string& id) const {
    std::string s = "<g id=\"" + id + "\" class=\"panel\">\n";
    s += "<text x=\"" + num(kLeft) + "\" y=\"" + num(top_ - 10) + "\" class=\"panel-title\">" + escape(title_) +
         "</text>\n";
    s += "<rect x=\"" + num(kLeft) + "\" y=\"" + num(top_) + "\" width=\"" + num(kPlotW) + "\" height=\"" +
         num(kPlotH) + "\" fill=\"#ffffff\" stroke=\"#444444\"/>\n";
    // grid + ticks
    for (double v = y_.lo; v <= y_.hi + y_.step * 1e-6; v += y_.step) {
      const double y = py(v);
      s += "<line x1=\"" + num(kLeft) + "\" y1=\"" + num(y) + "\" x2=\"" + num(kLeft + kPlotW) + "\" y2=\"" + num(y) +
           "\" class=\"grid\"/>\n";
      s += "<line x1=\"" + num(kLeft - 5) + "\" y1=\"" + num(y) + "\" x2=\"" + num(kLeft) + "\" y2=\"" + num(y) +
           "\" stroke=\"#444444\"/>\n";
      s += "<text x=\"" + num(kLeft - 8) + "\" y=\"" + num(y + 4) + "\" text-anchor=\"end\" class=\"tick\">" +
           tick_label(v, y_.step) + "</text>\n";
    }
    for (double v = x_.lo; v <= x_.hi + x_.step * 1e-6; v += x_.step) {
      const double x = px(v);
      s += "<line x1=\"" + num(x) + "\" y1=\"" + num(top_) + "\" x2=\"" + num(x) + "\" y2=\"" + num(top_ + kPlotH) +
           "\" class=\"grid\"/>\n";
      s += "<line x1=\"" + num(x) + "\" y1=\"" + num(top_ + kPlotH) + "\" x2=\"" + num(x) + "\" y2=\"" +
           num(top_ + kPlotH + 5) + "\" stroke=\"#444444\"/>\n";
      s += "<text x=\"" + num(x) + "\" y=\"" + num(top_ + kPlotH + 18) + "\" text-anchor=\"middle\" class=\"tick\">" +
           tick_label(v, x_.step) + "</text>\n";
    }
    for (const auto& [x, epoch] : epoch_marks) {
      if (x < x_.lo || x > x_.hi) continue;
      s += "<line x1=\"" + num(px(x)) + "\" y1=\"" + num(top_) + "\" x2=\"" + num(px(x)) + "\" y2=\"" +
           num(top_ + kPlotH) + "\" class=\"epoch\"/>\n";
      s += "<text x=\"" + num(px(x) - 4) + "\" y=\"" + num(top_ + 14) + "\" text-anchor=\"end\" class=\"epoch-label\">" +
           "epoch " + std::to_string(epoch) + "</text>\n";
    }
    // axis labels
    s += "<text x=\"" + num(kLeft + kPlotW / 2) + "\" y=\"" + num(top_ + kPlotH + 34) +
         "\" text-anchor=\"middle\" class=\"axis-label\">step</text>\n";
    const double ly = top_ + kPlotH / 2;
    s += "<text x=\"" + num(kLeft - 52) + "\" y=\"" + num(ly) + "\" text-anchor=\"middle\" class=\"axis-label\"" +
         " transform=\"rotate(-90 " + num(kLeft - 52) + " " + num(ly) + ")\">" + escape(y_label_) + "</text>\n";
    // series, clipped to the plot
    s += "<g clip-path=\"url(#clip-" + id + ")\">\n";
    for (const Series& se : series) s += render_series(se);
    s += "</g>\n";
    // legend
    double y = top_ + 12;
    const double lx = kLeft + kPlotW + 16;
    for (const Series& se : series) {
      if (!has_data(se)) continue;
      s += "<line x1=\"" + num(lx) + "\" y1=\"" + num(y) + "\" x2=\"" + num(lx + 24) + "\" y2=\"" + num(y) +
           "\" stroke=\"" + se.color + "\" stroke-width=\"" + num(std::max(se.width, 2.0)) + "\" stroke-opacity=\"" +
           num(std::max(se.opacity, 0.5)) + "\"" + (se.dashed ? " stroke-dasharray=\"6 3\"" : "") + "/>\n";
      if (se.markers)
        s += "<circle cx=\"" + num(lx + 12) + "\" cy=\"" + num(y) + "\" r=\"3.5\" fill=\"" + se.color + "\"/>\n";
      s += "<text x=\"" + num(lx + 30) + "\" y=\"" + num(y + 4) + "\" class=\"legend\">" + escape(se.name) + "</text>\n";
      y += 20;
    }
    if (std::none_of(series.begin(), series.end(), has_data))
      s += "<text x=\"" + num(kLeft + kPlotW / 2) + "\" y=\"" + num(top_ + kPlotH / 2) +
           "\" text-anchor=\"middle\" class=\"tick\">no data</text>\n";
    return s + "</g>\n";
  }

  std::string clip(const std::string& id) const {
    return "<clipPath id=\"clip-" + id + "\"><rect x=\"" + num(kLeft) + "\" y=\"" + num(top_) + "\" width=\"" +
           num(kPlotW) + "\" height=\"" + num(kPlotH) + "\"/></clipPath>\n";
  }

 private:
  std::string render_series(const Series& se) const {
    std::string s, pts;
    const std::string style = "fill=\"none\" stroke=\"" + se.color + "\" stroke-width=\"" + num(se.width) +
                              "\" stroke-opacity=\"" + num(se.opacity) + "\" stroke-linejoin=\"round\"" +
                              (se.dashed ? " stroke-dasharray=\"6 3\"" : "");
    int n = 0;
    auto flush = [&] {
      if (n >= 2) s += "<polyline class=\"series\" data-series=\"" + escape(se.name) + "\" " + style + " points=\"" + pts + "\"/>\n";
      pts.clear();
      n = 0;
    };
    for (const auto& [x, y] : se.points) {
      if (!std::isfinite(y) || !std::isfinite(x)) {
        flush();
        continue;
      }
      if (n) pts += ' ';
      pts += num(px(x)) + "," + num(py(y));
      ++n;
    }
    flush();
    if (se.markers)
      for (const auto& [x, y] : se.points)
        if (std::isfinite(x) && std::isfinite(y))
          s += "<circle class=\"marker\" data-series=\"" + escape(se.name) + "\" cx=\"" + num(px(x)) + "\" cy=\"" +
               num(py(y)) + "\" r=\"3.5\" fill=\"" + se.color + "\"/>\n";
    return s;
  }

  double top_;
  std::string title_, y_label_;
  Axis x_, y_;
};

}  // namespace

std::string training_curves_svg(const TrainingCurves& c) {
  // x range: every step and epoch position
  double x_max = 1;
  for (const auto& [step, v] : c.step_loss) x_max = std::max(x_max, static_cast<double>(step));
  for (const auto& [step, v] : c.step_accuracy) x_max = std::max(x_max, static_cast<double>(step));
  for (const EpochPoint& e : c.epochs) x_max = std::max(x_max, static_cast<double>(e.step));
  Axis x = nice_axis(0, x_max, 8);

  // loss panel
  std::vector<Series> loss;
  Series raw{"train loss (step)", "#9ecae1", {}, 1, 0.9};
  for (const auto& [step, v] : c.step_loss) raw.points.emplace_back(static_cast<double>(step), v);
  Series smooth{"train loss, " + std::to_string(std::max(c.smooth_window, 1)) + "-step avg", "#1f77b4",
                moving_average(c.step_loss, c.smooth_window), 2};
  Series train_epoch{"train loss (epoch)", "#2ca02c", {}, 2, 1, true, true};
  Series eval_loss{"eval loss (epoch)", "#d62728", {}, 2, 1, true};
  for (const EpochPoint& e : c.epochs) {
    train_epoch.points.emplace_back(static_cast<double>(e.step), e.train_loss);
    eval_loss.points.emplace_back(static_cast<double>(e.step), e.eval_loss);
  }
  bool any_train_epoch = false;
  for (const auto& p : train_epoch.points) any_train_epoch = any_train_epoch || std::isfinite(p.second);
  if (!any_train_epoch) train_epoch.points.clear();
  loss = {raw, smooth, train_epoch, eval_loss};
  double loss_max = 0, loss_min = 0;
  for (const Series& s : loss)
    for (const auto& p : s.points)
      if (std::isfinite(p.second)) loss_max = std::max(loss_max, p.second), loss_min = std::min(loss_min, p.second);
  if (loss_max <= loss_min) loss_max = loss_min + 1;
  const Axis loss_y = nice_axis(loss_min, loss_max, 5);

  // accuracy panel
  std::vector<Series> acc;
  if (!c.step_accuracy.empty())
    acc.push_back({"train acc, " + std::to_string(std::max(c.smooth_window, 1)) + "-step avg", "#9467bd",
                   moving_average(c.step_accuracy, c.smooth_window), 1.5, 0.8});
  Series eval_acc{"eval " + c.accuracy_title, "#ff7f0e", {}, 2, 1, true};
  Series eval_f1{"eval macro-F1", "#17becf", {}, 2, 1, true, true};
  for (const EpochPoint& e : c.epochs) {
    eval_acc.points.emplace_back(static_cast<double>(e.step), e.eval_accuracy);
    eval_f1.points.emplace_back(static_cast<double>(e.step), e.eval_macro_f1);
  }
  bool any_f1 = false;
  for (const auto& p : eval_f1.points) any_f1 = any_f1 || std::isfinite(p.second);
  if (!any_f1) eval_f1.points.clear();
  acc.push_back(eval_acc);
  acc.push_back(eval_f1);
  double acc_min = 0;  // eval values only: a noisy batch accuracy never widens the axis
  for (const Series* s : {&eval_acc, &eval_f1})
    for (const auto& p : s->points)
      if (std::isfinite(p.second)) acc_min = std::min(acc_min, p.second);
  const Axis acc_y = acc_min < 0 ? Axis{-1, 1, 0.25} : Axis{0, 1, 0.1};

  std::vector<std::pair<double, int>> marks;
  for (const EpochPoint& e : c.epochs) marks.emplace_back(static_cast<double>(e.step), e.epoch);

  const double top1 = kTop + (c.subtitle.empty() ? 0 : 18);
  const double top2 = top1 + kPanelHeight + kGap;
  const double height = top2 + kPanelHeight + 20;
  const Panel p1(top1, "Loss", "loss", x, loss_y);
  const Panel p2(top2, c.accuracy_title == "accuracy" ? "Accuracy" : c.accuracy_title, c.accuracy_title, x, acc_y);

  std::string s = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  s += "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"" + num(kWidth) + "\" height=\"" +
       num(height) + "\" viewBox=\"0 0 " + num(kWidth) + " " + num(height) + "\">\n";
  s += "<title>" + escape(c.title) + "</title>\n";
  s += "<style>text{font-family:sans-serif;fill:#222222}.tick{font-size:11px}.axis-label{font-size:12px}"
       ".legend{font-size:12px}.panel-title{font-size:14px;font-weight:bold}.title{font-size:18px;font-weight:bold}"
       ".subtitle{font-size:12px;fill:#555555}.epoch-label{font-size:10px;fill:#777777}"
       ".grid{stroke:#e5e5e5;stroke-width:1}.epoch{stroke:#999999;stroke-width:1;stroke-dasharray:4 4}</style>\n";
  s += "<defs>\n" + p1.clip("loss") + p2.clip("accuracy") + "</defs>\n";
  s += "<rect x=\"0\" y=\"0\" width=\"" + num(kWidth) + "\" height=\"" + num(height) + "\" fill=\"#fafafa\"/>\n";
  s += "<text x=\"" + num(kWidth / 2) + "\" y=\"28\" text-anchor=\"middle\" class=\"title\">" + escape(c.title) +
       "</text>\n";
  if (!c.subtitle.empty())
    s += "<text x=\"" + num(kWidth / 2) + "\" y=\"48\" text-anchor=\"middle\" class=\"subtitle\">" +
         escape(c.subtitle) + "</text>\n";
  s += p1.render(loss, marks, "loss");
  s += p2.render(acc, marks, "accuracy");
  s += "</svg>\n";
  return s;
}

}  // namespace ernie
