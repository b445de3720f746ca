// The entries of a zone's denial chains (Zone::nsec_chain in canonical
// name order, Zone::nsec3.owners by owner hash), collected node by node:
// by a full build for every node, and by an incremental one as edits (the
// entries of the names it rewrites or removes, then those it writes).
// Control thread only.
#ifndef POPDNS_CONTROL_BUILD_DENIAL_CHAINS_H_
#define POPDNS_CONTROL_BUILD_DENIAL_CHAINS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "dataplane/zone/sorted_chunks.h"
#include "dataplane/zone/zone.h"

namespace popdns::control {

struct DenialChainEntries {
  using NsecChain = zone::SortedChunks<std::string>;
  using Nsec3Owners = zone::SortedChunks<zone::Zone::Nsec3Chain::Digest>;

  // The entries of `node` of `z` pointing at `index`, or removing them
  // when `index` is kRemove: its canonical name when it holds an NSEC,
  // its owner hash when it holds an NSEC3 (and its name is one).
  void Add(const zone::Zone& z, const zone::Node& node, uint32_t index);
  // Both lists sorted by key, each key once (NsecChain::SortEdits).
  void Sort();

  std::vector<NsecChain::Entry> nsec;
  std::vector<Nsec3Owners::Entry> nsec3;
};

}  // namespace popdns::control

#endif  // POPDNS_CONTROL_BUILD_DENIAL_CHAINS_H_
