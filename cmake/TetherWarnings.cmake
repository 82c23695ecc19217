# Warnings are errors in our own code; third-party headers come in as SYSTEM includes.
function(tether_warnings target)
  target_compile_options(${target} PRIVATE
    -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion
    -Wnon-virtual-dtor -Wold-style-cast -Woverloaded-virtual -Wnull-dereference
    -Wimplicit-fallthrough -Werror)
  # GCC 12 at -O2/-O3 reports impossible sizes inside libstdc++ string and algorithm code
  # (GCC bugs 105329, 105651) and frees of "unallocated" objects in inlined std::variant
  # destructors (GCC bug 104475 family) and "maybe uninitialized" alternatives of a moved
  # std::variant (GCC bug 80635): keep them visible but not fatal.
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    target_compile_options(${target} PRIVATE -Wno-error=restrict -Wno-error=stringop-overread
                                             -Wno-error=stringop-overflow
                                             -Wno-error=free-nonheap-object
                                             -Wno-error=maybe-uninitialized)
  endif()
endfunction()
