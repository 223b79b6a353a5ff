// Side-effect import that registers both backends before any op asks for `backend()`, so importing a
// single op file (not only the engine barrel) is enough to get a working engine.

import '../backends/reference/index.js';
import '../backends/onednn/index.js';
