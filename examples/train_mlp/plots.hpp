// The run's pictures: loss.svg (loss and accuracy per epoch), boundary.svg (the classes the
// network assigns to every point of the plane, with the data on top), compare.svg (with and
// without BatchNorm on one plot).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <minigrad/minigrad.hpp>

#include "metrics.hpp"

namespace train_mlp {

void write_loss_svg(const std::filesystem::path& path, const std::vector<EpochMetrics>& history,
                    const std::string& title);

// Evaluates `net` (in eval mode) on a grid over the data's bounding box and colours each cell
// by the predicted class; training points are drawn filled, test points hollow.
void write_boundary_svg(const std::filesystem::path& path, mg::nn::Sequential& net,
                        const mg::data::Dataset& train, const mg::data::Dataset& test,
                        const std::string& title);

void write_compare_svg(const std::filesystem::path& path, const std::vector<EpochMetrics>& with_bn,
                       const std::vector<EpochMetrics>& without_bn, const std::string& title);

}  // namespace train_mlp
