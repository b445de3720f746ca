#include "control/xfr/journal.h"
// Placeholder: implemented by the journal work in progress.
namespace popdns::xfr {
struct Journal::Env {};
Journal::~Journal() = default;
}  // namespace popdns::xfr
