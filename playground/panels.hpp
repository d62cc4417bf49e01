// The commands of the page's two BatchNorm panels (session.hpp lists them all). Each takes the
// request's JSON and answers JSON; a bad request throws with a message naming what was expected.
#pragma once

#include "run.hpp"
#include "session.hpp"

namespace playground {

// "Inside BatchNorm" (bn_panel.cpp), on the run's `layer`-th BatchNorm1d.
Json bn_state(Run& run, const Json& request);
Json bn_modes(Run& run, const Json& request);
Json bn_gap(Run& run, const Json& request);
Json bn_running(Run& run, const Json& request);

// "Step through the backward" (backward_panel.cpp): the staged graph for N = 3, C = 1.
Json backward_graph(const Json& request);

}  // namespace playground
