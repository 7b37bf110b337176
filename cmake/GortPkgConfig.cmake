# Writes gort.pc and gort-static.pc at install time (included from an
# install(CODE) block in CMakeLists.txt), so that they name the prefix
# actually installed to: CMAKE_INSTALL_PREFIX here is the install-time one,
# `--prefix` included.
#
#   gort.pc         -lgort: libgort.so (or, with `pkg-config --static` and a
#                   fully static link, libgort.a and Libs.private)
#   gort-static.pc  libgort.a by path, in a program otherwise linked
#                   dynamically
#
# In: GORT_PC_SOURCE_DIR (the .pc.in templates), GORT_PC_BINARY_DIR,
# GORT_LIBDIR, GORT_INCLUDEDIR (relative to the prefix or absolute),
# GORT_VERSION, GORT_DESCRIPTION.

set(GORT_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
foreach(_kind LIBDIR INCLUDEDIR)
    if(IS_ABSOLUTE "${GORT_${_kind}}")
        set(GORT_PC_${_kind} "${GORT_${_kind}}")
    elseif(_kind STREQUAL "LIBDIR")
        set(GORT_PC_${_kind} "\${exec_prefix}/${GORT_${_kind}}")
    else()
        set(GORT_PC_${_kind} "\${prefix}/${GORT_${_kind}}")
    endif()
endforeach()
foreach(_pc gort gort-static)
    configure_file("${GORT_PC_SOURCE_DIR}/${_pc}.pc.in" "${GORT_PC_BINARY_DIR}/${_pc}.pc" @ONLY)
endforeach()
