#include "store/formats/hdf5_tree.h"

#include <string>
#include <unordered_set>

#include "store/formats/hdf5_dataset.h"

namespace re2po {
namespace {

struct LinkList {
  std::vector<std::string> hard_links;
  uint64_t* links_seen;
  bool too_many = false;
};

herr_t CollectHardLink(hid_t, const char* name, const H5L_info_t* info, void* data) {
  auto* list = static_cast<LinkList*>(data);
  if (++*list->links_seen > kHdf5MaxLinks) {
    list->too_many = true;
    return -1;
  }
  // Soft links name paths this walk reaches anyway; external links name
  // other files, which a parser never opens.
  if (info->type == H5L_TYPE_HARD) list->hard_links.emplace_back(name);
  return 0;
}

class TreeWalk {
 public:
  explicit TreeWalk(uint64_t file_size) : file_size_(file_size) {}

  Status Start(hid_t file) {
    Hid root(H5Oopen(file, "/", H5P_DEFAULT), H5Oclose);
    H5O_info_t info;
    if (!root.valid() || H5Oget_info2(root.get(), &info, H5O_INFO_BASIC) < 0) {
      return Status::Corruption("hdf5: cannot open the root group");
    }
    visited_.insert(info.addr);
    return EnterGroup(root.get(), "", 0);
  }

  std::vector<Segment> TakeSegments() { return std::move(segments_); }

 private:
  Status EnterGroup(hid_t group, const std::string& path, int depth) {
    if (depth >= kHdf5MaxDepth) {
      return Status::Corruption("hdf5: groups nested deeper than " + std::to_string(kHdf5MaxDepth));
    }
    LinkList list{{}, &links_seen_};
    hsize_t index = 0;
    const herr_t listed =
        H5Literate(group, H5_INDEX_NAME, H5_ITER_INC, &index, &CollectHardLink, &list);
    if (list.too_many) {
      return Status::Corruption("hdf5: more than " + std::to_string(kHdf5MaxLinks) + " links");
    }
    if (listed < 0) return Status::Corruption("hdf5: cannot list the group '" + path + "/'");
    for (const std::string& name : list.hard_links) {
      RETURN_IF_ERROR(VisitLink(group, name, path + "/" + name, depth));
    }
    return Status::Ok();
  }

  Status VisitLink(hid_t group, const std::string& name, const std::string& path, int depth) {
    // libhdf5 would read such a link name as a path of several links.
    if (name.find('/') != std::string::npos || name == ".") {
      return Status::Corruption("hdf5: a link named '" + path + "'");
    }
    Hid object(H5Oopen(group, name.c_str(), H5P_DEFAULT), H5Oclose);
    H5O_info_t info;
    if (!object.valid() || H5Oget_info2(object.get(), &info, H5O_INFO_BASIC) < 0) {
      return Status::Corruption("hdf5: cannot open '" + path + "'");
    }
    if (!visited_.insert(info.addr).second) return Status::Ok();
    if (info.type == H5O_TYPE_GROUP) return EnterGroup(object.get(), path, depth + 1);
    if (info.type != H5O_TYPE_DATASET) return Status::Ok();
    ASSIGN_OR_RETURN(std::optional<Segment> segment,
                     DatasetSegment(object.get(), path, file_size_));
    if (segment) segments_.push_back(std::move(*segment));
    return Status::Ok();
  }

  uint64_t file_size_;
  uint64_t links_seen_ = 0;
  std::unordered_set<haddr_t> visited_;
  std::vector<Segment> segments_;
};

}  // namespace

Result<std::vector<Segment>> CollectTensorSegments(hid_t file, uint64_t file_size) {
  TreeWalk walk(file_size);
  RETURN_IF_ERROR(walk.Start(file));
  return walk.TakeSegments();
}

}  // namespace re2po
