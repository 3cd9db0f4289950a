#include "store/formats/hdf5.h"

#include <hdf5.h>

#include <cstring>
#include <mutex>

#include "store/formats/hdf5_dataset.h"
#include "store/formats/hdf5_tree.h"
#include "store/formats/isolated_parse.h"
#include "store/formats/segments.h"

namespace re2po {
namespace {

constexpr uint8_t kSignature[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};

std::mutex& Hdf5Mutex() {
  static std::mutex mutex;
  return mutex;
}

// File-image callbacks that hand libhdf5 the caller's buffer instead of a
// copy (as H5LT's DONT_COPY|DONT_RELEASE mode does): a multi-gigabyte .h5
// must not be duplicated in memory. The file is opened read-only, so the
// buffer is never written; any resize or real copy request is refused.
struct ImageBuffer {
  void* data;
  size_t size;
};

void* ImageMalloc(size_t size, H5FD_file_image_op_t op, void* udata) {
  const auto* image = static_cast<const ImageBuffer*>(udata);
  if (op == H5FD_FILE_IMAGE_OP_FILE_RESIZE || size != image->size) return nullptr;
  return image->data;
}
void* ImageMemcpy(void* dest, const void* src, size_t, H5FD_file_image_op_t, void*) {
  return dest == src ? dest : nullptr;
}
void* ImageRealloc(void*, size_t, H5FD_file_image_op_t, void*) { return nullptr; }
herr_t ImageFree(void*, H5FD_file_image_op_t, void*) { return 0; }
void* UdataCopy(void* udata) { return udata; }
herr_t UdataFree(void*) { return 0; }

Result<Hid> OpenImage(ImageBuffer& image) {
  Hid fapl(H5Pcreate(H5P_FILE_ACCESS), H5Pclose);
  if (!fapl.valid()) return Status::IOError("hdf5: cannot create a property list");
  H5FD_file_image_callbacks_t callbacks = {&ImageMalloc, &ImageMemcpy, &ImageRealloc, &ImageFree,
                                           &UdataCopy,   &UdataFree,   &image};
  // STRONG close: every object goes with the file, so nothing can keep
  // pointing into `bytes` after this parse returns.
  if (H5Pset_fapl_core(fapl.get(), 1 << 20, 0) < 0 ||
      H5Pset_fclose_degree(fapl.get(), H5F_CLOSE_STRONG) < 0 ||
      H5Pset_file_image_callbacks(fapl.get(), &callbacks) < 0 ||
      H5Pset_file_image(fapl.get(), image.data, image.size) < 0) {
    return Status::IOError("hdf5: cannot set up the file image");
  }
  Hid file(H5Fopen("re2po-hdf5-image", H5F_ACC_RDONLY, fapl.get()), H5Fclose);
  if (!file.valid()) return Status::Corruption("hdf5: libhdf5 cannot open the file");
  return file;
}

Result<ParsedFile> ParseLocked(ByteSpan bytes) {
  // libhdf5 prints a stack of errors to stderr by default; failures here
  // are reported through the Status instead.
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  ImageBuffer image{const_cast<uint8_t*>(bytes.data()), bytes.size()};
  ASSIGN_OR_RETURN(Hid file, OpenImage(image));
  ParsedFile parsed;
  parsed.format = "hdf5";
  ASSIGN_OR_RETURN(parsed.segments, CollectTensorSegments(file.get(), bytes.size()));
  ASSIGN_OR_RETURN(parsed.segments,
                   SortedDisjointSegments("hdf5", std::move(parsed.segments), bytes.size()));
  return parsed;
}

bool Sniff(std::string_view, ByteSpan head) { return LooksLikeHdf5(head); }

}  // namespace

bool LooksLikeHdf5(ByteSpan head) {
  return head.size() >= sizeof(kSignature) &&
         std::memcmp(head.data(), kSignature, sizeof(kSignature)) == 0;
}

Result<ParsedFile> ParseHdf5(ByteSpan bytes) {
  if (!LooksLikeHdf5(bytes)) return Status::Corruption("hdf5: no signature at offset 0");
  std::lock_guard<std::mutex> lock(Hdf5Mutex());
  return ParseLocked(bytes);
}

Result<ParsedFile> ParseHdf5Isolated(ByteSpan bytes) {
  return ParseIsolated("hdf5", &ParseHdf5, bytes);
}

const FormatParser& Hdf5Format() {
  static const FormatParser parser{"hdf5", &Sniff, &ParseHdf5Isolated};
  return parser;
}

}  // namespace re2po
