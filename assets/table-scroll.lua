--[[
table-scroll.lua (Quarto, HTML only): every table gets a box of its own, `div.table-scroll`, which
scrolls sideways when the table is wider than the screen (assets/report.css), so that the page
itself never does on a phone. Runs after Quarto's own filters (`at: post-render` in _quarto.yml),
when figures, tables and cross-references are already done. The built-in renderer does the same
in src/helpers/publishing/render/crossref.lua.
--]]

function Table(t)
  if not quarto.doc.is_format("html") then return nil end
  return pandoc.Div({ t }, pandoc.Attr("", { "table-scroll" }))
end
