# The c-tests/ directory as CTest tests: the same programs, flags and header
# convention as `cargo test --test c` (whose reader is in tests/support).
#
# Each c-tests/*.c or *.cpp file proves one behaviour. It becomes one
# executable, linked against gort::gort, and one CTest test per run its
# header asks for. The header lines read, within the file's first 30 lines:
#
#   // env: K=V K=V     one run per line, with that environment
#   // timeout: N       seconds per run (default 120)
#
# A file without `// env:` lines runs once, with no extra environment. A test
# is named after its file, or "name:K=V:K=V" for each env line (characters
# other than [A-Za-z0-9_.,=+/:-] become _), and labelled c or cpp.
#
#   gort_test_header(<file> <prefix>)
#       Reads a file's header into <prefix>_RUNS (how many env lines),
#       <prefix>_ENV_<i> (the K=V list of env line i, from 0) and
#       <prefix>_TIMEOUT. A malformed timeout line is a configure error.
#
#   gort_add_c_tests(<dir> [WARNINGS_AS_ERRORS])
#       Adds every test of <dir>. The project's own warnings (-Wall -Wextra)
#       are always on; WARNINGS_AS_ERRORS adds -Werror (CI's build; a
#       consumer's must never fail on a test's warning).

include_guard(GLOBAL)

function(gort_test_header file prefix)
    set(runs 0)
    set(timeout 120)
    file(STRINGS "${file}" head LIMIT_COUNT 30)
    foreach(line IN LISTS head)
        string(STRIP "${line}" line)
        if(line MATCHES "^// env:(.*)$")
            separate_arguments(words UNIX_COMMAND "${CMAKE_MATCH_1}")
            list(FILTER words INCLUDE REGEX "=")
            set(${prefix}_ENV_${runs} "${words}" PARENT_SCOPE)
            math(EXPR runs "${runs} + 1")
        elseif(line MATCHES "^// timeout:(.*)$")
            string(STRIP "${CMAKE_MATCH_1}" timeout)
            if(NOT timeout MATCHES "^[0-9]+$")
                message(FATAL_ERROR "${file}: bad timeout line: ${line}")
            endif()
        endif()
    endforeach()
    set(${prefix}_RUNS ${runs} PARENT_SCOPE)
    set(${prefix}_TIMEOUT ${timeout} PARENT_SCOPE)
endfunction()

function(gort_add_c_tests dir)
    cmake_parse_arguments(PARSE_ARGV 1 arg "WARNINGS_AS_ERRORS" "" "")
    set(warnings -Wall -Wextra)
    if(arg_WARNINGS_AS_ERRORS)
        list(APPEND warnings -Werror)
    endif()
    find_package(Threads REQUIRED)

    file(GLOB sources CONFIGURE_DEPENDS "${dir}/*.c" "${dir}/*.cpp")
    list(SORT sources)
    foreach(src IN LISTS sources)
        get_filename_component(name "${src}" NAME_WE)
        get_filename_component(ext "${src}" LAST_EXT)
        if(ext STREQUAL ".cpp")
            if(NOT CMAKE_CXX_COMPILER)
                continue()
            endif()
            set(label cpp)
        else()
            set(label c)
        endif()

        set(exe "gort_test_${name}")
        add_executable(${exe} "${src}")
        set_target_properties(${exe} PROPERTIES
            OUTPUT_NAME "${name}"
            RUNTIME_OUTPUT_DIRECTORY "${CMAKE_CURRENT_BINARY_DIR}/c-tests"
            C_STANDARD 11 C_STANDARD_REQUIRED ON C_EXTENSIONS ON          # -std=gnu11
            CXX_STANDARD 17 CXX_STANDARD_REQUIRED ON CXX_EXTENSIONS OFF)  # -std=c++17
        target_compile_options(${exe} PRIVATE -g ${warnings})
        target_include_directories(${exe} PRIVATE "${dir}")
        target_link_libraries(${exe} PRIVATE gort::gort Threads::Threads m)

        gort_test_header("${src}" header)
        if(header_RUNS EQUAL 0)
            add_test(NAME "${name}" COMMAND ${exe})
            set_tests_properties("${name}" PROPERTIES TIMEOUT ${header_TIMEOUT} LABELS ${label})
            continue()
        endif()
        math(EXPR last "${header_RUNS} - 1")
        foreach(i RANGE ${last})
            list(JOIN header_ENV_${i} ":" shown)
            string(REGEX REPLACE "[^A-Za-z0-9_.,=+/:-]" "_" shown "${shown}")
            set(test "${name}:${shown}")
            add_test(NAME "${test}" COMMAND ${exe})
            set_tests_properties("${test}" PROPERTIES
                ENVIRONMENT "${header_ENV_${i}}" TIMEOUT ${header_TIMEOUT} LABELS ${label})
        endforeach()
    endforeach()
endfunction()
