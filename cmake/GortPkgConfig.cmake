# Writes gort.pc at install time (included from an install(CODE) block in
# CMakeLists.txt), so that it names the prefix actually installed to:
# CMAKE_INSTALL_PREFIX here is the install-time one, `--prefix` included.
#
# In: GORT_PC_IN, GORT_PC_OUT, GORT_LIBDIR, GORT_INCLUDEDIR (relative to the
# prefix or absolute), GORT_VERSION, GORT_DESCRIPTION.

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
configure_file("${GORT_PC_IN}" "${GORT_PC_OUT}" @ONLY)
