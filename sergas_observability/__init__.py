"""sergas-observability: observability as code.

The declaration language lives in `sergas_observability.model`; importing this
package stays light so the runtime instrumentation can use
`sergas_observability.instrumentation` without pulling in the generator.
"""

__version__ = "0.1.0"
