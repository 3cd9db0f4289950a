# The Debian package: `cmake --build build --target package` writes
# build/re2po_<version>_amd64.deb. Included at the end of the top-level
# CMakeLists.txt. What goes where (see docs/operations.md):
#
#   /usr/bin/re2po                       the CLI (tools/CMakeLists.txt)
#   /usr/sbin/mount.re2po                the mount(8) helper (tools/CMakeLists.txt)
#   /usr/sbin/mount.fuse.re2po           -> mount.re2po, for `-t fuse.re2po`
#   /usr/share/man/man{1,8}/*.gz         packaging/man, gzipped at build time
#   /etc/re2po/re2po.conf                environment file read by the units (a conffile)
#   /lib/systemd/system/                 re2po@.service, re2po-remote@.service,
#                                        gc and verify timers
#   /usr/share/doc/re2po/                operations.md, remote.md, examples
#                                        (a .mount unit, Kubernetes manifests)
#   /var/lib/re2po/                      parent of the default store (created empty)
#
# mount(8) looks for helpers only in /sbin (util-linux FS_SEARCH_PATH
# "/sbin:/sbin/fs.d:/sbin/fs"): first /sbin/mount.<type>, then, for a type
# with a subtype, /sbin/mount.<type before the dot>. Debian 12 is merged-/usr
# (/sbin -> usr/sbin), so /usr/sbin/mount.fuse.re2po is found as
# /sbin/mount.fuse.re2po; without that link `-t fuse.re2po` would fall back
# to mount.fuse3, which would run `re2po STORE MOUNTPOINT` and fail.

set(RE2PO_PACKAGING_DIR "${CMAKE_CURRENT_LIST_DIR}")
set(RE2PO_PACKAGING_OUT "${PROJECT_BINARY_DIR}/packaging")
set(RE2PO_SYSTEMD_UNIT_DIR "/lib/systemd/system" CACHE PATH
    "Where the package installs systemd units (Debian 12: /lib/systemd/system)")
file(MAKE_DIRECTORY "${RE2PO_PACKAGING_OUT}/man")

# Man pages, gzipped the way Debian ships them (-n: no name or time stamp,
# so the package is reproducible).
find_program(RE2PO_GZIP gzip REQUIRED)
file(GLOB RE2PO_MAN_PAGES CONFIGURE_DEPENDS "${RE2PO_PACKAGING_DIR}/man/*.[1-8]")
set(RE2PO_MAN_GZ "")
foreach(page IN LISTS RE2PO_MAN_PAGES)
  get_filename_component(name "${page}" NAME)
  string(REGEX REPLACE "^.*\\.([1-8])$" "\\1" section "${name}")
  set(gz "${RE2PO_PACKAGING_OUT}/man/${name}.gz")
  add_custom_command(OUTPUT "${gz}"
    COMMAND "${RE2PO_GZIP}" -9 -n -c "${page}" > "${gz}"
    DEPENDS "${page}" VERBATIM)
  list(APPEND RE2PO_MAN_GZ "${gz}")
  install(FILES "${gz}" DESTINATION "${CMAKE_INSTALL_MANDIR}/man${section}")
endforeach()
add_custom_target(re2po_man_pages ALL DEPENDS ${RE2PO_MAN_GZ})

if(RE2PO_BUILD_FS)
  # Built beside the binaries too, so `mount -t fuse.re2po` can be tried
  # from a build tree (tests/packaging/fstab_test.cc).
  file(CREATE_LINK mount.re2po "${RE2PO_PACKAGING_OUT}/mount.fuse.re2po" SYMBOLIC)
  install(FILES "${RE2PO_PACKAGING_OUT}/mount.fuse.re2po" DESTINATION sbin)
endif()

install(FILES "${RE2PO_PACKAGING_DIR}/re2po.conf" DESTINATION /etc/re2po)
install(FILES
  "${RE2PO_PACKAGING_DIR}/systemd/re2po@.service"
  "${RE2PO_PACKAGING_DIR}/systemd/re2po-remote@.service"
  "${RE2PO_PACKAGING_DIR}/systemd/re2po-gc.service"
  "${RE2PO_PACKAGING_DIR}/systemd/re2po-gc.timer"
  "${RE2PO_PACKAGING_DIR}/systemd/re2po-verify.service"
  "${RE2PO_PACKAGING_DIR}/systemd/re2po-verify.timer"
  DESTINATION "${RE2PO_SYSTEMD_UNIT_DIR}")
install(FILES "${PROJECT_SOURCE_DIR}/docs/operations.md" "${PROJECT_SOURCE_DIR}/docs/remote.md"
  DESTINATION "${CMAKE_INSTALL_DOCDIR}")
install(FILES "${RE2PO_PACKAGING_DIR}/systemd/models.mount"
  DESTINATION "${CMAKE_INSTALL_DOCDIR}/examples")
file(GLOB RE2PO_KUBERNETES_EXAMPLES CONFIGURE_DEPENDS "${RE2PO_PACKAGING_DIR}/kubernetes/*.yaml")
install(FILES ${RE2PO_KUBERNETES_EXAMPLES}
  DESTINATION "${CMAKE_INSTALL_DOCDIR}/examples/kubernetes")
file(GLOB RE2PO_MONITORING_EXAMPLES CONFIGURE_DEPENDS "${RE2PO_PACKAGING_DIR}/monitoring/*")
install(FILES ${RE2PO_MONITORING_EXAMPLES}
  DESTINATION "${CMAKE_INSTALL_DOCDIR}/examples/monitoring")
install(DIRECTORY DESTINATION /var/lib/re2po)

set(CPACK_GENERATOR "DEB")
set(CPACK_PACKAGE_NAME "re2po")
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGE_CONTACT "Re2po maintainers <re2po@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "deduplicating ML model repository with a FUSE mount")
set(CPACK_PACKAGE_DESCRIPTION
  "Re2po stores machine-learning models once per distinct tensor in a RocksDB
store and serves every version read-only through FUSE, for edge and serverless
machines. This package holds the re2po command line, the mount.re2po helper for
mount(8) and /etc/fstab (type fuse.re2po), systemd units for mounts, garbage
collection and verification, and the manual pages.")
set(CPACK_PACKAGING_INSTALL_PREFIX "/usr")
set(CPACK_DEBIAN_FILE_NAME "DEB-DEFAULT")  # re2po_<version>_<arch>.deb
set(CPACK_DEBIAN_PACKAGE_SECTION "admin")
set(CPACK_DEBIAN_PACKAGE_PRIORITY "optional")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
  "${RE2PO_PACKAGING_DIR}/debian/conffiles"
  "${RE2PO_PACKAGING_DIR}/debian/postinst"
  "${RE2PO_PACKAGING_DIR}/debian/postrm")

# fuse3 brings fusermount3 (unprivileged mounts) and /etc/fuse.conf; it is
# not a shared library, so dpkg-shlibdeps cannot find it. Nor libcurl4, which
# the remote client loads with dlopen (store/remote/curl_library.h).
set(RE2PO_DEBIAN_DEPENDS "fuse3, libcurl4")
find_program(RE2PO_DPKG_SHLIBDEPS dpkg-shlibdeps)
if(RE2PO_DPKG_SHLIBDEPS)
  # Depends computed from the binaries' NEEDED entries, appended to the above.
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
else()
  # The Debian 12 names of what the binaries link (checked with apt-cache policy).
  string(APPEND RE2PO_DEBIAN_DEPENDS
    ", libfuse3-3 (>= 3.14), libzstd1, libspdlog1.10, libfmt9, libsnappy1v5, libxxhash0"
    ", libssl3, libstdc++6 (>= 12), libc6 (>= 2.36)")
  if(RE2PO_ROCKSDB_STATIC)
    string(APPEND RE2PO_DEBIAN_DEPENDS ", liblz4-1, libbz2-1.0, zlib1g")
  else()
    string(APPEND RE2PO_DEBIAN_DEPENDS ", librocksdb7.8")
  endif()
  if(RE2PO_HDF5_STATIC)
    string(APPEND RE2PO_DEBIAN_DEPENDS ", libsz2")
  else()
    string(APPEND RE2PO_DEBIAN_DEPENDS ", libhdf5-103-1")
  endif()
endif()
set(CPACK_DEBIAN_PACKAGE_DEPENDS "${RE2PO_DEBIAN_DEPENDS}")
# Remotes over https:// check the endpoint's certificate against the system
# CA store. libcurl4 recommends it as well; re2po says so itself because it
# is what needs it (an install with --no-install-recommends, as in
# packaging/container/Dockerfile, must name it).
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "ca-certificates")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "systemd")

# Only the runtime pieces: the test and benchmark targets install nothing.
set(CPACK_STRIP_FILES ON)
include(CPack)
