#include "core/dot.hpp"

#include <unordered_map>
#include <vector>

#include <fmt/format.h>

namespace mg {
namespace {

// "  value  1.5  -0.25  3" (at most 4 significant digits; a label line, left-aligned by \l).
template <typename T>
std::string values_line(const char* what, const BasicTensor<T>& t) {
  std::string line = what;
  for (const T v : t.to_vector()) line += fmt::format("  {:.4g}", static_cast<double>(v));
  return line + "\\l";
}

// The label: name (or op, "param", "leaf"), shape, then values and gradient of a small tensor.
// Params are filled blue, leaves without grad grey, ops are plain boxes.
template <typename T>
std::string node_line(int64_t id, const BasicTensor<T>& t, const std::string& name,
                      const DotOptions<T>& options) {
  const bool leaf = t.is_leaf();
  const std::string kind = !leaf ? t.op() : t.requires_grad() ? "param" : "leaf";
  std::string label = name.empty() ? kind : leaf ? name : name + " = " + kind;
  label += fmt::format("\\n{}", t.shape());
  if (t.numel() <= options.max_values) {
    label += "\\n" + values_line("value", t);
    if (t.grad().defined()) label += values_line("grad ", t.grad());
  }
  const char* style = !leaf               ? ""
                      : t.requires_grad() ? ", style=filled, fillcolor=\"#cfe2f3\""
                                          : ", style=filled, fillcolor=\"#eeeeee\"";
  return fmt::format("  n{} [label=\"{}\"{}];\n", id, label, style);
}

}  // namespace

template <typename T>
std::string to_dot(const BasicTensor<T>& root, const DotOptions<T>& options) {
  std::unordered_map<const void*, std::string> name_of;
  for (const auto& [name, t] : options.names)
    if (t.defined()) name_of.emplace(t.id(), name);
  std::vector<std::string> nodes;                  // nodes[i]: the line of node n<i>
  std::vector<std::pair<int64_t, int64_t>> edges;  // (input, output)
  std::vector<int64_t> readers;                    // readers[i]: how many edges leave n<i>
  // Each tensor's number in the file, assigned when the walk first meets it.
  std::unordered_map<const void*, int64_t> number{{root.id(), 0}};
  std::vector<BasicTensor<T>> pending{root};  // met, not yet written (a stack, not recursion)
  while (!pending.empty()) {
    const BasicTensor<T> t = std::move(pending.back());
    pending.pop_back();
    const int64_t id = number.at(t.id());
    nodes.resize(number.size());
    const auto named = name_of.find(t.id());
    nodes[id] = node_line(id, t, named == name_of.end() ? std::string() : named->second, options);
    for (const BasicTensor<T>& in : t.inputs()) {
      const auto [it, first_time] = number.emplace(in.id(), static_cast<int64_t>(number.size()));
      if (first_time) pending.push_back(in);
      edges.emplace_back(it->second, id);  // input -> output
    }
  }
  readers.assign(nodes.size(), 0);
  for (const auto& [from, to] : edges) ++readers[from];
  std::string dot = "digraph minigrad {\n  node [shape=box, fontname=\"monospace\"];\n";
  for (const std::string& line : nodes) dot += line;
  for (const auto& [from, to] : edges) {
    const char* shared = readers[from] > 1 ? " [color=\"#cc0000\", penwidth=2]" : "";
    dot += fmt::format("  n{} -> n{}{};\n", from, to, shared);
  }
  return dot + "}\n";
}

template std::string to_dot(const BasicTensor<float>&, const DotOptions<float>&);
template std::string to_dot(const BasicTensor<double>&, const DotOptions<double>&);

}  // namespace mg
