// result.h — errors are values.
//
// Every engine function that can fail returns Result<T> (or Status): a value, or an Error with a
// code and a message that names the file, pixel or row responsible. The engine never exits,
// never throws across its API, and never prints; callers decide what to show.
#pragma once
#include <string>
#include <utility>
#include <variant>

namespace px {

enum class ErrorCode {
    Ok = 0,
    Io,          // the file system said no (open, read, write, rename)
    NotPng,      // the bytes are not a PNG
    BadPng,      // a PNG libpng could not decode (truncated, corrupt)
    Unsupported, // a PNG we refuse to convert
    TooLarge,    // dimensions beyond the protocol's limits (PROTOCOL.md §8)
    Empty,       // a 0-pixel image
    Syntax,      // assembler text
    Semantic,    // assembler: undefined names, shapes that do not fit
    Invalid,     // a program that fails validation
    Usage,       // a bad argument from the caller
    Gl,          // the OpenGL executor
};

struct Error {
    ErrorCode code = ErrorCode::Ok;
    std::string message;
};

template <typename T> class [[nodiscard]] Result {
  public:
    Result(T value) : v_(std::move(value)) {}
    Result(Error error) : v_(std::move(error)) {}
    bool ok() const { return v_.index() == 0; }
    explicit operator bool() const { return ok(); }
    T& value() & { return std::get<0>(v_); }
    const T& value() const& { return std::get<0>(v_); }
    T&& value() && { return std::get<0>(std::move(v_)); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    T& operator*() & { return value(); }
    const Error& error() const { return std::get<1>(v_); }

  private:
    std::variant<T, Error> v_;
};

struct Ok {};
using Status = Result<Ok>;

inline Error make_error(ErrorCode code, std::string message) {
    return Error{code, std::move(message)};
}

} // namespace px
