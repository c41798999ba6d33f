-- A paced wrk run (bench/homepage.py): each connection waits about `interval` ms between the end of
-- one response and its next request, so 50 connections offer a set rate instead of as many requests as
-- the server can answer (a closed loop at saturation has p99 near connections/rate, by Little's law).
-- Usage: wrk -c50 -s bench/paced.lua URL -- <interval ms>
local interval = 100

function init(args)
  interval = tonumber(args[1]) or interval
  math.randomseed(os.time() + math.floor(os.clock() * 1e6))
end

function delay()
  -- Uniform on [0.5, 1.5] x interval: the connections drift apart instead of arriving in step.
  return math.floor(interval * (0.5 + math.random()))
end
