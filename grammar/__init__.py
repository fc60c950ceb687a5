"""The grammar package: vdsl.lark, the single source of syntax."""
