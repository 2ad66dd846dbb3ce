// Documents the server hands out as they are: the web page at / and the OpenAPI description.
#pragma once

namespace ernie::serve {

const char* web_page_html();   // web_page.cc
const char* openapi_json();    // openapi.cc

}  // namespace ernie::serve
