#include "core/dot.hpp"

#include <unordered_map>
#include <vector>

#include <fmt/format.h>

namespace mg {
namespace {

// "leaf"/"param" for leaves; ops get their name. Params are filled, ops are plain boxes.
template <typename T>
std::string node_line(int64_t id, const BasicTensor<T>& t) {
  const bool leaf = t.is_leaf();
  const std::string name = !leaf ? t.op() : t.requires_grad() ? "param" : "leaf";
  const char* style = !leaf               ? ""
                      : t.requires_grad() ? ", style=filled, fillcolor=\"#cfe2f3\""
                                          : ", style=filled, fillcolor=\"#eeeeee\"";
  return fmt::format("  n{} [label=\"{}\\n{}\"{}];\n", id, name, t.shape(), style);
}

}  // namespace

template <typename T>
std::string to_dot(const BasicTensor<T>& root) {
  std::vector<std::string> nodes;  // nodes[i]: the line of node n<i>
  std::string edges;
  // Each tensor's number in the file, assigned when the walk first meets it.
  std::unordered_map<const void*, int64_t> number{{root.id(), 0}};
  std::vector<BasicTensor<T>> pending{root};  // met, not yet written (a stack, not recursion)
  while (!pending.empty()) {
    const BasicTensor<T> t = std::move(pending.back());
    pending.pop_back();
    const int64_t id = number.at(t.id());
    nodes.resize(number.size());
    nodes[id] = node_line(id, t);
    for (const BasicTensor<T>& in : t.inputs()) {
      const auto [it, first_time] = number.emplace(in.id(), static_cast<int64_t>(number.size()));
      if (first_time) pending.push_back(in);
      edges += fmt::format("  n{} -> n{};\n", it->second, id);  // input -> output
    }
  }
  std::string dot = "digraph minigrad {\n  node [shape=box, fontname=\"monospace\"];\n";
  for (const std::string& line : nodes) dot += line;
  return dot + edges + "}\n";
}

template std::string to_dot(const BasicTensor<float>&);
template std::string to_dot(const BasicTensor<double>&);

}  // namespace mg
