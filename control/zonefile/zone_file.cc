// Zone file reader. See zone_file.h.
//
// The lexer cuts the text into entries (one logical line: parentheses join
// physical lines) of string_view tokens into the input, so parsing a large
// zone allocates only for the records it produces.
#include "control/zonefile/zone_file.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>
#include <system_error>
#include <utility>

#include "absl/strings/ascii.h"
#include "control/zonefile/name_text.h"
#include "control/zonefile/rdata_text.h"
#include "control/zonefile/text_util.h"

#define POPDNS_RETURN_IF_ERROR(expr)   \
  do {                                 \
    absl::Status status_ = (expr);     \
    if (!status_.ok()) return status_; \
  } while (false)

namespace popdns::control {
namespace {

using internal::AppendPiece;
using internal::Cat;
using internal::EqualsIgnoreCase;
using internal::ToStd;

absl::Status PositionError(std::string_view file, int line, int col,
                           std::string_view what) {
  return absl::InvalidArgumentError(Cat(file, ":", line, ":", col, ": ", what));
}

constexpr uint16_t kClassIn = 1;

// One logical line of the file.
struct Entry {
  std::vector<TextToken> tokens;
  bool owner_omitted = false;  // the line started with a blank
  int end_line = 0;            // where a missing field would have been
  int end_col = 0;
};

class Lexer {
 public:
  Lexer(std::string_view text, std::string_view file)
      : text_(text), file_(file) {}

  // Reads the next non-empty entry; sets *done at end of input.
  // Errors: unbalanced parentheses, unterminated quoted string.
  absl::Status Next(Entry* entry, bool* done);
  // After an error of Next, goes on at the next line (check mode).
  void SkipLine() {
    while (pos_ < text_.size() && text_[pos_] != '\n') ++pos_;
    if (pos_ < text_.size()) {
      ++pos_;
      NewLine();
    }
  }

 private:
  int Col(size_t pos) const { return static_cast<int>(pos - line_start_) + 1; }
  void NewLine() {
    ++line_;
    line_start_ = pos_;
  }
  // Scans a quoted run starting at the opening quote at pos_; leaves pos_
  // after the closing quote.
  absl::Status SkipQuoted();
  absl::Status ReadWord(Entry* entry);

  std::string_view text_;
  std::string_view file_;
  size_t pos_ = 0;
  int line_ = 1;
  size_t line_start_ = 0;
};

absl::Status Lexer::SkipQuoted() {
  size_t open = pos_++;
  while (pos_ < text_.size()) {
    char c = text_[pos_];
    if (c == '"') {
      ++pos_;
      return absl::OkStatus();
    }
    if (c == '\n') break;
    pos_ += (c == '\\' && pos_ + 1 < text_.size() && text_[pos_ + 1] != '\n')
                ? 2
                : 1;
  }
  return PositionError(file_, line_, Col(open), "unterminated quoted string");
}

absl::Status Lexer::ReadWord(Entry* entry) {
  size_t start = pos_;
  while (pos_ < text_.size()) {
    char c = text_[pos_];
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == ';' ||
        c == '(' || c == ')') {
      break;
    }
    if (c == '"') {  // key="a b" inside a word (SVCB parameters)
      POPDNS_RETURN_IF_ERROR(SkipQuoted());
      continue;
    }
    pos_ += (c == '\\' && pos_ + 1 < text_.size() && text_[pos_ + 1] != '\n')
                ? 2
                : 1;
  }
  entry->tokens.push_back(
      {text_.substr(start, pos_ - start), false, line_, Col(start)});
  return absl::OkStatus();
}

absl::Status Lexer::Next(Entry* entry, bool* done) {
  entry->tokens.clear();
  entry->owner_omitted = false;
  *done = false;
  int depth = 0;
  int paren_line = 0;
  int paren_col = 0;
  while (true) {
    if (pos_ >= text_.size()) {
      if (depth > 0) {
        return PositionError(file_, paren_line, paren_col,
                             "unbalanced parentheses: '(' never closed");
      }
      *done = entry->tokens.empty();
      break;
    }
    char c = text_[pos_];
    if (c == '\n') {
      ++pos_;
      if (depth == 0 && !entry->tokens.empty()) {
        NewLine();
        return absl::OkStatus();
      }
      NewLine();
      continue;
    }
    if (c == ' ' || c == '\t' || c == '\r') {
      ++pos_;
      continue;
    }
    if (c == ';') {
      while (pos_ < text_.size() && text_[pos_] != '\n') ++pos_;
      continue;
    }
    if (entry->tokens.empty() && depth == 0 && pos_ != line_start_) {
      entry->owner_omitted = true;
    }
    if (c == '(') {
      if (depth++ == 0) {
        paren_line = line_;
        paren_col = Col(pos_);
      }
      ++pos_;
      continue;
    }
    if (c == ')') {
      if (depth == 0) {
        return PositionError(file_, line_, Col(pos_),
                             "unbalanced parentheses: unexpected ')'");
      }
      --depth;
      ++pos_;
      continue;
    }
    if (c == '"') {
      size_t open = pos_;
      POPDNS_RETURN_IF_ERROR(SkipQuoted());
      entry->tokens.push_back(
          {text_.substr(open + 1, pos_ - open - 2), true, line_, Col(open)});
      continue;
    }
    POPDNS_RETURN_IF_ERROR(ReadWord(entry));
  }
  return absl::OkStatus();
}

void SetEnd(Entry* entry) {
  const TextToken& last = entry->tokens.back();
  entry->end_line = last.line;
  entry->end_col =
      last.col + static_cast<int>(last.text.size()) + (last.quoted ? 2 : 0);
}

// Parse state of one file; an $INCLUDEd file gets a copy, so its $ORIGIN
// and $TTL do not leak back (RFC 1035 5.1).
struct FileState {
  std::string file;
  SourceFile source;  // `file`, shared by the records
  std::string origin;
  std::string previous_owner;
  std::optional<uint32_t> ttl;  // from $TTL
  int depth = 0;
};

bool StartsWithDigit(std::string_view text) {
  return !text.empty() &&
         absl::ascii_isdigit(static_cast<unsigned char>(text[0]));
}

std::string DirectoryOf(std::string_view path) {
  size_t slash = path.rfind('/');
  if (slash == std::string_view::npos) return "";
  return std::string(path.substr(0, slash + 1));
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) {
    return absl::NotFoundError(Cat(
        "cannot open '", path, "': ", std::system_category().message(errno)));
  }
  std::string content;
  // Sized once: appending a large zone in pieces would copy it ~log2(n)
  // times, and its peak would be twice the file.
  struct stat st;
  if (fstat(fileno(file), &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
    content.reserve(static_cast<size_t>(st.st_size));
  }
  char buffer[1 << 16];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof(buffer), file)) > 0) {
    content.append(buffer, n);
  }
  // fopen succeeds on a directory; the read error (EISDIR) shows here.
  int error = std::ferror(file) ? errno : 0;
  std::fclose(file);
  if (error != 0) {
    return absl::NotFoundError(Cat(
        "cannot read '", path, "': ", std::system_category().message(error)));
  }
  return content;
}

class ZoneParser {
 public:
  ZoneParser(const ZoneFileOptions& options, std::vector<ZoneRecord>* records,
             ErrorList* errors)
      : options_(options), records_(records), errors_(errors) {}

  absl::Status ParseText(std::string_view text, FileState* state);
  // Check mode: the first error ParseText went past (OK if none).
  const absl::Status& first_error() const { return first_error_; }

 private:
  // Check mode keeps `error` and says to go on; otherwise stop.
  bool Collect(const absl::Status& error) {
    if (errors_ == nullptr) return false;
    errors_->Add(error);
    if (first_error_.ok()) first_error_ = error;
    return true;
  }
  absl::Status Error(const FileState& state, const TextToken& token,
                     std::string_view what) {
    return PositionError(state.file, token.line, token.col, what);
  }
  absl::Status ErrorAtEnd(const FileState& state, const Entry& entry,
                          std::string_view what) {
    return PositionError(state.file, entry.end_line, entry.end_col, what);
  }
  struct RecordHead {
    std::optional<uint32_t> ttl;
    std::optional<uint16_t> rclass;
    uint16_t type = 0;
  };
  absl::Status ParseOwner(const Entry& entry, const FileState& state,
                          std::string* owner);
  absl::Status ParseTtlClassType(const Entry& entry, const FileState& state,
                                 size_t* i, RecordHead* head);
  absl::Status HandleRecord(const Entry& entry, FileState* state);
  absl::Status HandleDirective(const Entry& entry, FileState* state);
  absl::Status HandleInclude(const Entry& entry, FileState* state);
  absl::Status HandleGenerate(const Entry& entry, FileState* state);

  const ZoneFileOptions& options_;
  std::vector<ZoneRecord>* records_;
  ErrorList* errors_;  // null: stop at the first error
  absl::Status first_error_;
  std::string rdata_;  // reused RDATA buffer
};

absl::Status ZoneParser::ParseText(std::string_view text, FileState* state) {
  Lexer lexer(text, state->file);
  Entry entry;
  while (true) {
    bool done = false;
    if (absl::Status s = lexer.Next(&entry, &done); !s.ok()) {
      if (!Collect(s)) return s;
      lexer.SkipLine();
      continue;
    }
    if (done) return absl::OkStatus();
    SetEnd(&entry);
    const TextToken& first = entry.tokens[0];
    // A record never starts with '$' (owner, TTL, class or type), so an
    // indented directive is still a directive.
    absl::Status s = !first.quoted && first.text.starts_with("$")
                         ? HandleDirective(entry, state)
                         : HandleRecord(entry, state);
    if (!s.ok() && !Collect(s)) return s;
  }
}

absl::Status ZoneParser::ParseOwner(const Entry& entry, const FileState& state,
                                    std::string* owner) {
  const TextToken& first = entry.tokens[0];
  if (entry.owner_omitted) {
    if (state.previous_owner.empty()) {
      return Error(state, first, "missing owner name (no previous record)");
    }
    *owner = state.previous_owner;
    return absl::OkStatus();
  }
  absl::StatusOr<std::string> name = NameFromText(first.text, state.origin);
  if (!name.ok()) {
    return Error(state, first,
                 Cat("invalid owner name: ", name.status().message()));
  }
  *owner = *std::move(name);
  return absl::OkStatus();
}

// [TTL] [class] or [class] [TTL] (RFC 1035 5.1), then the type. A TTL
// starts with a digit; no class or type mnemonic does.
absl::Status ZoneParser::ParseTtlClassType(const Entry& entry,
                                           const FileState& state, size_t* i,
                                           RecordHead* head) {
  const std::vector<TextToken>& tokens = entry.tokens;
  for (; *i < tokens.size(); ++*i) {
    const TextToken& token = tokens[*i];
    if (!head->ttl && StartsWithDigit(token.text)) {
      uint32_t value;
      if (!ParseTtlText(token.text, &value)) {
        return Error(state, token, Cat("invalid TTL '", token.text, "'"));
      }
      head->ttl = value;
      continue;
    }
    std::optional<uint16_t> as_class =
        head->rclass ? std::nullopt : ClassFromText(token.text);
    if (!as_class) break;
    head->rclass = as_class;
  }
  if (*i >= tokens.size()) return ErrorAtEnd(state, entry, "missing RR type");
  const TextToken& token = tokens[*i];
  std::optional<uint16_t> type = TypeFromText(token.text);
  if (!type || token.quoted) {
    return Error(state, token, Cat("unknown RR type '", token.text, "'"));
  }
  head->type = *type;
  ++*i;
  return absl::OkStatus();
}

absl::Status ZoneParser::HandleRecord(const Entry& entry, FileState* state) {
  const std::vector<TextToken>& tokens = entry.tokens;
  ZoneRecord record;
  POPDNS_RETURN_IF_ERROR(ParseOwner(entry, *state, &record.owner));
  size_t i = entry.owner_omitted ? 0 : 1;
  RecordHead head;
  POPDNS_RETURN_IF_ERROR(ParseTtlClassType(entry, *state, &i, &head));
  absl::Span<const TextToken> rdata_tokens =
      absl::MakeConstSpan(tokens).subspan(i);
  RdataError error;
  if (!RdataFromText(head.type, rdata_tokens, state->origin, &rdata_, &error)) {
    if (error.token >= rdata_tokens.size()) {
      return ErrorAtEnd(*state, entry, error.message);
    }
    return Error(*state, rdata_tokens[error.token], error.message);
  }
  record.type = head.type;
  record.rclass = head.rclass.value_or(kClassIn);
  // Knot's rule (see ZoneFileOptions::default_ttl): $TTL, else the default;
  // never the previous record's TTL or the SOA MINIMUM as BIND does.
  record.ttl = head.ttl.value_or(state->ttl.value_or(options_.default_ttl));
  record.rdata = rdata_;
  record.file = state->source;
  record.line = tokens[0].line;
  state->previous_owner = record.owner;
  records_->push_back(std::move(record));
  return absl::OkStatus();
}

absl::Status ZoneParser::HandleDirective(const Entry& entry, FileState* state) {
  const std::vector<TextToken>& tokens = entry.tokens;
  std::string_view name = tokens[0].text;
  if (EqualsIgnoreCase(name, "$INCLUDE")) {
    return HandleInclude(entry, state);
  }
  if (EqualsIgnoreCase(name, "$GENERATE")) {
    return HandleGenerate(entry, state);
  }
  bool is_origin = EqualsIgnoreCase(name, "$ORIGIN");
  if (!is_origin && !EqualsIgnoreCase(name, "$TTL")) {
    return Error(*state, tokens[0], Cat("unknown directive '", name, "'"));
  }
  if (tokens.size() < 2) {
    return ErrorAtEnd(*state, entry,
                      is_origin ? "missing origin name" : "missing TTL value");
  }
  if (tokens.size() > 2) {
    return Error(*state, tokens[2],
                 Cat("unexpected '", tokens[2].text, "' after ", name));
  }
  const TextToken& value = tokens[1];
  if (is_origin) {
    absl::StatusOr<std::string> origin =
        NameFromText(value.text, state->origin);
    if (!origin.ok()) {
      return Error(*state, value,
                   Cat("invalid $ORIGIN: ", origin.status().message()));
    }
    state->origin = *std::move(origin);
    return absl::OkStatus();
  }
  uint32_t ttl;
  if (!ParseTtlText(value.text, &ttl)) {
    return Error(*state, value, Cat("invalid TTL '", value.text, "'"));
  }
  state->ttl = ttl;
  return absl::OkStatus();
}

absl::Status ZoneParser::HandleInclude(const Entry& entry, FileState* state) {
  const std::vector<TextToken>& tokens = entry.tokens;
  if (tokens.size() < 2) {
    return ErrorAtEnd(*state, entry, "missing $INCLUDE file");
  }
  if (tokens.size() > 3) {
    return Error(*state, tokens[3],
                 Cat("unexpected '", tokens[3].text, "' after $INCLUDE"));
  }
  const TextToken& path_token = tokens[1];
  FileState child = *state;
  child.depth = state->depth + 1;
  if (child.depth > options_.max_include_depth) {
    return Error(*state, path_token,
                 Cat("$INCLUDE nested deeper than ", options_.max_include_depth,
                     " levels"));
  }
  if (tokens.size() == 3) {
    absl::StatusOr<std::string> origin =
        NameFromText(tokens[2].text, state->origin);
    if (!origin.ok()) {
      return Error(*state, tokens[2],
                   Cat("invalid $INCLUDE origin: ", origin.status().message()));
    }
    child.origin = *std::move(origin);
  }
  std::string path(path_token.text);
  if (!path.starts_with("/")) path = DirectoryOf(state->file) + path;
  absl::StatusOr<std::string> text = ReadFile(path);
  if (!text.ok()) {
    return Error(*state, path_token, ToStd(text.status().message()));
  }
  child.file = path;
  child.source = SourceFile(path);
  return ParseText(*text, &child);
}

// ---- $GENERATE, BIND syntax (BIND 9 ARM "The $GENERATE Directive") ----
// Neither Knot 3.2 nor NSD 4.6 has $GENERATE (checked: both reject it), so
// BIND's named-compilezone is the reference, see zone_oracle_test.cc.

constexpr uint64_t kMaxGenerateRecords = 1000000;

struct GenerateRange {
  uint64_t start = 0;
  uint64_t stop = 0;
  uint64_t step = 1;
};

bool ParseU32(std::string_view text, uint64_t* value) {
  if (text.empty() || text.size() > 10) return false;
  uint64_t v = 0;
  for (char c : text) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  if (v > 0xffffffffu) return false;
  *value = v;
  return true;
}

bool ParseRange(std::string_view text, GenerateRange* range) {
  size_t slash = text.find('/');
  if (slash != std::string_view::npos) {
    if (!ParseU32(text.substr(slash + 1), &range->step) || range->step == 0) {
      return false;
    }
    text = text.substr(0, slash);
  }
  size_t dash = text.find('-');
  if (dash == std::string_view::npos) return false;
  return ParseU32(text.substr(0, dash), &range->start) &&
         ParseU32(text.substr(dash + 1), &range->stop) &&
         range->start <= range->stop;
}

// BIND's nibble format: reversed hex digits joined by dots; `width` counts
// output characters including the dots.
void AppendNibbles(int64_t value, int width, bool upper, std::string* out) {
  const char* digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
  uint64_t v = static_cast<uint64_t>(value);
  do {
    out->push_back(digits[v & 0xf]);
    v >>= 4;
    if (width > 0) --width;
    if (width > 0 || v != 0) {
      out->push_back('.');
      if (width > 0) --width;
    }
  } while (v != 0 || width > 0);
}

// Expands "${offset,width,base}" (each part optional). `spec` is the text
// between the braces.
bool AppendModified(std::string_view spec, int64_t value, std::string* out) {
  std::string_view parts[3];
  int count = 0;
  while (count < 3) {
    size_t comma = spec.find(',');
    parts[count++] = spec.substr(0, comma);
    if (comma == std::string_view::npos) break;
    spec = spec.substr(comma + 1);
    if (count == 3) return false;
  }
  int64_t offset = 0;
  std::string_view offset_text = parts[0];
  bool negative = false;
  if (!offset_text.empty() &&
      (offset_text[0] == '-' || offset_text[0] == '+')) {
    negative = offset_text[0] == '-';
    offset_text.remove_prefix(1);
  }
  uint64_t magnitude = 0;
  if (!ParseU32(offset_text, &magnitude)) return false;
  offset = negative ? -static_cast<int64_t>(magnitude)
                    : static_cast<int64_t>(magnitude);
  uint64_t width = 0;
  if (count > 1 && (!ParseU32(parts[1], &width) || width > 255)) return false;
  char base = 'd';
  if (count > 2) {
    if (parts[2].size() != 1) return false;
    base = parts[2][0];
  }
  int64_t v = value + offset;
  int w = static_cast<int>(width);
  if (base == 'n' || base == 'N') {
    AppendNibbles(v, w, base == 'N', out);
    return true;
  }
  const char* format;
  switch (base) {
    case 'd':
      format = "%0*lld";
      break;
    case 'o':
      format = "%0*llo";
      break;
    case 'x':
      format = "%0*llx";
      break;
    case 'X':
      format = "%0*llX";
      break;
    default:
      return false;
  }
  char buffer[300];
  std::snprintf(buffer, sizeof(buffer), format, w, static_cast<long long>(v));
  out->append(buffer);
  return true;
}

// Substitutes '$' (the iterator) in one template token. "\$" stays escaped
// for the name/string decoder; "$$" is a literal '$'.
bool ExpandTemplate(std::string_view text, int64_t value, std::string* out,
                    std::string_view* bad) {
  out->clear();
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '\\' && i + 1 < text.size()) {
      out->push_back(c);
      out->push_back(text[++i]);
      continue;
    }
    if (c != '$') {
      out->push_back(c);
      continue;
    }
    if (i + 1 < text.size() && text[i + 1] == '$') {
      out->append("\\$");
      ++i;
      continue;
    }
    if (i + 1 < text.size() && text[i + 1] == '{') {
      size_t close = text.find('}', i);
      if (close == std::string_view::npos ||
          !AppendModified(text.substr(i + 2, close - i - 2), value, out)) {
        *bad = text.substr(i, close == std::string_view::npos
                                  ? std::string_view::npos
                                  : close - i + 1);
        return false;
      }
      i = close;
      continue;
    }
    AppendPiece(out, value);
  }
  return true;
}

absl::Status ZoneParser::HandleGenerate(const Entry& entry, FileState* state) {
  const std::vector<TextToken>& tokens = entry.tokens;
  if (tokens.size() < 5) {
    return ErrorAtEnd(*state, entry,
                      "$GENERATE needs: range lhs [ttl] [class] type rhs");
  }
  GenerateRange range;
  if (!ParseRange(tokens[1].text, &range)) {
    return Error(*state, tokens[1],
                 Cat("invalid $GENERATE range '", tokens[1].text, "'"));
  }
  // A typo like 0-4294967295 would otherwise eat all memory on the control
  // thread.
  if ((range.stop - range.start) / range.step >= kMaxGenerateRecords) {
    return Error(*state, tokens[1],
                 Cat("$GENERATE range '", tokens[1].text, "' makes more than ",
                     kMaxGenerateRecords, " records"));
  }
  // Only the owner (lhs) and the RDATA (after the type) are templates.
  size_t type_index = 3;
  while (type_index < tokens.size() && type_index < 5 &&
         (StartsWithDigit(tokens[type_index].text) ||
          ClassFromText(tokens[type_index].text))) {
    ++type_index;
  }
  Entry generated;
  generated.end_line = entry.end_line;
  generated.end_col = entry.end_col;
  std::vector<std::string> texts(tokens.size());
  for (uint64_t v = range.start; v <= range.stop; v += range.step) {
    for (size_t i = 2; i < tokens.size(); ++i) {
      if (i != 2 && i <= type_index) {
        texts[i].assign(tokens[i].text);
        continue;
      }
      std::string_view bad;
      if (!ExpandTemplate(tokens[i].text, static_cast<int64_t>(v), &texts[i],
                          &bad)) {
        return Error(*state, tokens[i],
                     Cat("invalid $GENERATE modifier '", bad, "'"));
      }
    }
    generated.tokens.assign(tokens.begin() + 2, tokens.end());
    for (size_t i = 2; i < tokens.size(); ++i) {
      generated.tokens[i - 2].text = texts[i];
    }
    POPDNS_RETURN_IF_ERROR(HandleRecord(generated, state));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<ZoneRecord>> Parse(std::string_view text,
                                              std::string_view file_name,
                                              const ZoneFileOptions& options,
                                              ErrorList* errors) {
  std::vector<ZoneRecord> records;
  // Zone files take 25-40 bytes a record: reserved once, a large zone's
  // records are not copied on each growth nor held twice meanwhile
  // (address space beyond what is used is never touched).
  records.reserve(text.size() / 24);
  ZoneParser parser(options, &records, errors);
  FileState state;
  state.file = std::string(file_name);
  state.source = SourceFile(state.file);
  state.origin = options.origin_wire;
  POPDNS_RETURN_IF_ERROR(parser.ParseText(text, &state));
  POPDNS_RETURN_IF_ERROR(parser.first_error());
  return records;
}

}  // namespace

absl::StatusOr<std::vector<ZoneRecord>> ParseZoneFile(
    const std::string& path, const ZoneFileOptions& options,
    ErrorList* errors) {
  absl::StatusOr<std::string> text = ReadFile(path);
  if (!text.ok()) {
    if (errors != nullptr) errors->Add(text.status());
    return text.status();
  }
  return Parse(*text, path, options, errors);
}

absl::StatusOr<std::vector<ZoneRecord>> ParseZoneText(
    std::string_view text, std::string_view file_name,
    const ZoneFileOptions& options, ErrorList* errors) {
  return Parse(text, file_name, options, errors);
}

}  // namespace popdns::control
