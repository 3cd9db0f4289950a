#include "store/source_tree.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>

#include "store/names.h"

namespace re2po {
namespace fs = std::filesystem;
namespace {

int64_t MtimeNs(const struct stat& st) {
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
}

Result<std::vector<std::string>> ListDirectory(const fs::path& dir) {
  std::unique_ptr<DIR, int (*)(DIR*)> handle(opendir(dir.c_str()), closedir);
  if (!handle) return Status::FromErrno(errno, "cannot read directory '" + dir.string() + "'");
  std::vector<std::string> names;
  while (dirent* entry = readdir(handle.get())) {
    std::string_view name = entry->d_name;
    if (name != "." && name != "..") names.emplace_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

Status CheckReadable(const fs::path& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return Status::FromErrno(errno, "cannot read '" + path.string() + "'");
  close(fd);
  return Status::Ok();
}

class Scanner {
 public:
  Status ScanDirectory(const fs::path& dir, uint32_t index, const std::string& relative) {
    ASSIGN_OR_RETURN(auto names, ListDirectory(dir));
    for (const std::string& name : names) {
      std::string child_relative = relative.empty() ? name : relative + "/" + name;
      Status valid = ValidatePathComponent(name);
      if (!valid.ok()) return valid.WithContext("in '" + (dir / name).string() + "'");
      RETURN_IF_ERROR(AddEntry(dir / name, index, name, child_relative));
    }
    return Status::Ok();
  }

  Status AddEntry(const fs::path& path, uint32_t parent, const std::string& name,
                  const std::string& relative) {
    struct stat st {};
    if (lstat(path.c_str(), &st) != 0)
      return Status::FromErrno(errno, "cannot stat '" + path.string() + "'");
    TreeEntry entry;
    entry.name = name;
    entry.parent = parent;
    entry.mode = st.st_mode & 07777;
    entry.mtime_ns = MtimeNs(st);
    if (S_ISDIR(st.st_mode)) {
      entry.type = EntryType::kDirectory;
      tree_.entries.push_back(std::move(entry));
      return ScanDirectory(path, static_cast<uint32_t>(tree_.entries.size() - 1), relative);
    }
    if (S_ISREG(st.st_mode)) return AddFile(path, std::move(entry), st, relative);
    if (S_ISLNK(st.st_mode)) return AddSymlink(path, std::move(entry), relative);
    tree_.warnings.push_back("skipped '" + relative +
                             "': not a regular file, directory or symlink");
    return Status::Ok();
  }

  Status AddFile(const fs::path& path, TreeEntry entry, const struct stat& st,
                 const std::string& relative) {
    RETURN_IF_ERROR(CheckReadable(path));
    entry.type = EntryType::kFile;
    entry.size = static_cast<uint64_t>(st.st_size);
    tree_.total_bytes += entry.size;
    tree_.entries.push_back(std::move(entry));
    tree_.files.push_back({path, relative, static_cast<uint32_t>(tree_.entries.size() - 1)});
    return Status::Ok();
  }

  Status AddSymlink(const fs::path& path, TreeEntry entry, const std::string& relative) {
    std::error_code error;
    fs::path target = fs::read_symlink(path, error);
    if (error)
      return Status::FromErrno(error.value(), "cannot read symlink '" + path.string() + "'");
    std::string text = target.string();
    if (text.empty() || text.front() == '/') {
      return Status::InvalidArgument("refused symlink '" + relative + "' -> '" + text +
                                     "': absolute symlinks would point outside the version");
    }
    std::string link_dir =
        relative.substr(0, relative.rfind('/') == std::string::npos ? 0 : relative.rfind('/'));
    if (!SymlinkStaysInside(link_dir, text)) {
      return Status::InvalidArgument("refused symlink '" + relative + "' -> '" + text +
                                     "': it points outside the imported tree");
    }
    entry.type = EntryType::kSymlink;
    entry.mode = 0777;
    entry.size = text.size();
    entry.target = std::move(text);
    tree_.entries.push_back(std::move(entry));
    return Status::Ok();
  }

  SourceTree Take() { return std::move(tree_); }
  SourceTree& tree() { return tree_; }

 private:
  SourceTree tree_;
};

}  // namespace

bool SymlinkStaysInside(const std::string& link_dir, const std::string& target) {
  std::vector<std::string_view> stack;
  auto walk = [&stack](std::string_view path) {
    while (!path.empty()) {
      size_t slash = path.find('/');
      std::string_view part = path.substr(0, slash);
      path = slash == std::string_view::npos ? "" : path.substr(slash + 1);
      if (part.empty() || part == ".") continue;
      if (part == "..") {
        if (stack.empty()) return false;
        stack.pop_back();
      } else {
        stack.push_back(part);
      }
    }
    return true;
  };
  return walk(link_dir) && walk(target);
}

Result<SourceTree> ScanSource(const fs::path& source) {
  struct stat st {};
  if (stat(source.c_str(), &st) != 0) {
    return Status::FromErrno(errno, "cannot import '" + source.string() + "'");
  }
  Scanner scanner;
  TreeEntry root;
  root.type = EntryType::kDirectory;
  root.mode = S_ISDIR(st.st_mode) ? (st.st_mode & 07777) : 0755;
  root.mtime_ns = MtimeNs(st);
  scanner.tree().entries.push_back(root);
  if (S_ISDIR(st.st_mode)) {
    RETURN_IF_ERROR(scanner.ScanDirectory(source, 0, ""));
  } else if (S_ISREG(st.st_mode)) {
    std::string name = source.filename().string();
    RETURN_IF_ERROR(ValidatePathComponent(name));
    RETURN_IF_ERROR(scanner.AddEntry(source, 0, name, name));
  } else {
    return Status::InvalidArgument("cannot import '" + source.string() +
                                   "': not a regular file or directory");
  }
  return scanner.Take();
}

}  // namespace re2po
