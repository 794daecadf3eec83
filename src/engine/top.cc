#include "engine/top.h"

#include "runtime/ps.h"

namespace berth::engine {

Result<std::string> container_top(RuntimeHandler& handler, std::string_view id,
                                  const std::vector<std::string>& ps_args) {
  BERTH_TRY_ASSIGN(pids, handler.processes(id));
  BERTH_TRY_ASSIGN(output, runtime::run_ps(ps_args.empty() ? std::vector<std::string>{"-ef"} : ps_args));
  return runtime::filter_ps_output(output, pids);
}

}  // namespace berth::engine
