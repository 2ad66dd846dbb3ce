// training_curves.svg for ernie train: a self-contained SVG (no scripts, no external fonts or
// files) with two panels sharing the x axis (global optimizer step):
//   1. loss: the training loss of every logged step (light line) with its moving average over
//      `smooth_window` points (dark line), the per-epoch training loss and eval loss (markers at
//      the epoch's last step);
//   2. accuracy: eval accuracy and eval macro-F1 per epoch (markers + lines), and the training
//      batch accuracy per step when given (moving average). The y axis is 0..1.
// Dashed vertical lines mark the ends of epochs. NaN values are gaps (not drawn). Text is
// XML-escaped, so label and file names may hold any UTF-8. Write it with ernie::write_file_atomic.
#pragma once
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

namespace ernie {

struct EpochPoint {
  int epoch = 0;         // 1-based
  int64_t step = 0;      // global step at the end of the epoch (x position)
  double train_loss = std::numeric_limits<double>::quiet_NaN();
  double eval_loss = std::numeric_limits<double>::quiet_NaN();
  double eval_accuracy = std::numeric_limits<double>::quiet_NaN();
  double eval_macro_f1 = std::numeric_limits<double>::quiet_NaN();
};

struct TrainingCurves {
  std::string title = "ernie train";
  std::string subtitle;                                  // e.g. "model out/ · data train.tsv · 3 epochs"
  std::vector<std::pair<int64_t, double>> step_loss;     // (global step, training loss of that step)
  std::vector<std::pair<int64_t, double>> step_accuracy; // optional: (step, batch accuracy)
  std::vector<EpochPoint> epochs;
  std::string accuracy_title = "accuracy";  // regression: e.g. "Pearson r" (values still 0..1 scale)
  int smooth_window = 25;                   // moving average over this many logged steps
};

std::string training_curves_svg(const TrainingCurves& curves);

}  // namespace ernie
